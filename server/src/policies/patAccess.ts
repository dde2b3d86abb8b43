import type { PatAccess } from "@clarive/shared";

/** DESIGN §3: a repository's pat_access true → allowed, false → denied, inherit → the global setting. */
export const effectivePatAccess = (patAccess: PatAccess, patAuthEnabled: boolean): boolean =>
  patAccess === "inherit" ? patAuthEnabled : patAccess === "true";
