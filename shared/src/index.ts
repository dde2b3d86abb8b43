export * from "./token-format";
export * from "./limits";
export * from "./dto";
