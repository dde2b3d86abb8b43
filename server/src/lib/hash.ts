import { hash } from "node:crypto";

/** Tokens and API keys are stored only as this digest. One-shot: it runs on every git request. */
export const sha256Hex = (secret: string): string => hash("sha256", secret, "hex");
