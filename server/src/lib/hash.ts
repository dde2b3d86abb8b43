import { createHash } from "node:crypto";

/** Tokens and API keys are stored only as this digest. */
export const sha256Hex = (secret: string): string => createHash("sha256").update(secret, "utf8").digest("hex");
