/** Validation limits shared by the service and the extension, so both refuse the same input. */

import { redactSecrets } from "./token-format";

export const MIN_EXPIRY_DAYS = 7;
export const MAX_EXPIRY_DAYS = 730;
export const EXPIRY_PRESET_DAYS = [7, 30, 90, 365, 730] as const;
export const DESCRIPTION_MAX_LENGTH = 200;
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

/** Project and repository names: safe as path segments on disk and in URLs. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Why a project or repository name is refused, or null when it is fine. */
export function nameProblem(kind: "project" | "repository", name: string): string | null {
  // A token pasted where a name goes (a URL path) must never be echoed back in a message, a
  // log or the audit trail: no name is shaped like one, and messages show only its hint.
  if (/^clap(at|i)_/i.test(name)) return `${kind} names must not start with "clapat_" or "clapi_" (the prefixes of tokens and API keys)`;
  const shown = redactSecrets(name);
  if (!NAME_PATTERN.test(name)) {
    return `${kind} name "${shown}" must start with a letter or digit and contain only letters, digits, '.', '_' or '-' (at most 100 characters)`;
  }
  if (name.includes("..")) return `${kind} name "${shown}" must not contain ".."`;
  if (name.toLowerCase().endsWith(".git")) return `${kind} name "${shown}" must not end in ".git"`;
  return null;
}

export type ExpiryInput = { expiresInDays: number } | { expiresAt: Date };

export type ExpiryResult = { ok: true; expiresAt: Date } | { ok: false; message: string };

/**
 * Resolves an expiration and checks it against the limits: at least MIN_EXPIRY_DAYS, at most
 * min(MAX_EXPIRY_DAYS, maxLifetimeDays), exactly (a date 6 days and 1 hour away is not 7 days).
 */
export function resolveExpiry(input: ExpiryInput, maxLifetimeDays: number, now = new Date()): ExpiryResult {
  const maxDays = Math.min(MAX_EXPIRY_DAYS, maxLifetimeDays);
  const limits = `between ${MIN_EXPIRY_DAYS} and ${maxDays} days`;
  if ("expiresInDays" in input) {
    const days = input.expiresInDays;
    if (!Number.isInteger(days) || days < MIN_EXPIRY_DAYS || days > maxDays) {
      return { ok: false, message: `expiresInDays must be a whole number ${limits}; got ${days}` };
    }
    return { ok: true, expiresAt: new Date(now.getTime() + days * DAY_MS) };
  }
  const at = input.expiresAt;
  if (Number.isNaN(at.getTime())) return { ok: false, message: "expiresAt is not a valid date" };
  const lifetime = at.getTime() - now.getTime();
  if (lifetime < MIN_EXPIRY_DAYS * DAY_MS || lifetime > maxDays * DAY_MS) {
    const away = Math.round((lifetime / DAY_MS) * 100) / 100;
    return { ok: false, message: `expiresAt must be ${limits} from now; ${at.toISOString()} is ${away} days away` };
  }
  return { ok: true, expiresAt: at };
}
