import { randomBytes } from "node:crypto";
import CRC32 from "crc-32";

/**
 * Secret formats of DESIGN §3. A prefix tells what a secret is for, the random
 * part carries the entropy, and a CRC32 checksum (as GitHub's `ghp_` tokens)
 * lets scanners and the service reject look-alikes without a database lookup.
 */
export const PAT_PREFIX = "clapat_";
export const API_KEY_PREFIX = "clapi_";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const RANDOM_LENGTH = 30;
export const CHECKSUM_LENGTH = 6;
export const SECRET_BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;

function base62Random(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** CRC32 of the random part, as a fixed-width base62 number. */
export function checksum(randomPart: string): string {
  let value = CRC32.str(randomPart) >>> 0;
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

function generate(prefix: string): string {
  const randomPart = base62Random(RANDOM_LENGTH);
  return prefix + randomPart + checksum(randomPart);
}

function isWellFormed(prefix: string, candidate: string): boolean {
  if (candidate.length !== prefix.length + SECRET_BODY_LENGTH || !candidate.startsWith(prefix)) return false;
  const body = candidate.slice(prefix.length);
  if (!/^[0-9A-Za-z]+$/.test(body)) return false;
  return checksum(body.slice(0, RANDOM_LENGTH)) === body.slice(RANDOM_LENGTH);
}

export const generatePersonalAccessToken = (): string => generate(PAT_PREFIX);
export const generateApiKey = (): string => generate(API_KEY_PREFIX);

/** True for a string that has the PAT shape and a matching checksum. */
export const isWellFormedPersonalAccessToken = (candidate: string): boolean => isWellFormed(PAT_PREFIX, candidate);
export const isWellFormedApiKey = (candidate: string): boolean => isWellFormed(API_KEY_PREFIX, candidate);

const PAT_CANDIDATE = new RegExp(`${PAT_PREFIX}[0-9A-Za-z]{${SECRET_BODY_LENGTH}}(?![0-9A-Za-z])`, "g");

/**
 * Every real-looking personal access token in a piece of text (a pasted line of code, a log):
 * our shape with a matching checksum, not part of a longer word. Look-alikes are left out.
 */
export function findPersonalAccessTokens(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(PAT_CANDIDATE)) {
    const start = match.index;
    const glued = start > 0 && /[0-9A-Za-z_]/.test(text[start - 1] ?? "");
    if (!glued && isWellFormedPersonalAccessToken(match[0])) found.add(match[0]);
  }
  return [...found];
}

const SECRET_LIKE = /clap(?:at|i)(?:_|%5[Ff])[0-9A-Za-z]+/g;

/**
 * Text with anything shaped like one of our secrets (even a look-alike, even with the `_`
 * percent-encoded) replaced by its hint: for what is logged or audited from client input.
 */
export const redactSecrets = (text: string): string =>
  text.includes("clap") ? text.replace(SECRET_LIKE, (secret) => secretHint(secret.replace(/%5[Ff]/, "_"))) : text;

/** What listings show instead of the secret: the prefix and the last four characters. */
export function secretHint(secret: string): string {
  const prefix = secret.startsWith(PAT_PREFIX) ? PAT_PREFIX : secret.startsWith(API_KEY_PREFIX) ? API_KEY_PREFIX : "";
  return `${prefix}…${secret.slice(-4)}`;
}
