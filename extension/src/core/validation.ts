/**
 * Form validation for the input boxes, with the service's own limits from `@clarive/shared`,
 * so the form refuses what the service would refuse, before any request. Each function
 * returns a message for `validateInput`, or undefined when the value is fine.
 */
import { DESCRIPTION_MAX_LENGTH, MAX_EXPIRY_DAYS, MIN_EXPIRY_DAYS, isWellFormedPersonalAccessToken, resolveExpiry } from "@clarive/shared";
import { parseServerUrl } from "./urls";

export function descriptionProblem(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.length === 0) return "Enter a description, e.g. the machine or the job the token is for.";
  if (trimmed.length > DESCRIPTION_MAX_LENGTH) {
    return `At most ${DESCRIPTION_MAX_LENGTH} characters (this is ${trimmed.length}).`;
  }
  return undefined;
}

/** Parses "YYYY-MM-DD" as the end of that day in UTC, so a date a week away counts as 7 days. */
export function parseExpiryDate(value: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day, 23, 59, 59));
  // Date.UTC rolls 2026-02-30 over to March: refuse instead of guessing.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date;
}

export function expiryDateProblem(value: string, maxLifetimeDays: number, now: Date): string | undefined {
  const date = parseExpiryDate(value);
  if (!date) return "Enter a date as YYYY-MM-DD.";
  const result = resolveExpiry({ expiresAt: date }, maxLifetimeDays, now);
  if (!result.ok) {
    const maxDays = Math.min(MAX_EXPIRY_DAYS, maxLifetimeDays);
    return `Pick a date between ${MIN_EXPIRY_DAYS} and ${maxDays} days from today.`;
  }
  return undefined;
}

export function serverUrlProblem(value: string): string | undefined {
  const parsed = parseServerUrl(value);
  return parsed.ok ? undefined : parsed.message;
}

export function usernameProblem(value: string): string | undefined {
  return value.trim().length === 0 ? "Enter your Clarive username." : undefined;
}

export function passwordProblem(value: string): string | undefined {
  return value.length === 0 ? "Enter your password." : undefined;
}

export function apiKeyProblem(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.length === 0) return "Paste an API key (it starts with clapi_).";
  if (trimmed.startsWith("clapat_")) return "That is a personal access token, which only git accepts. Paste an API key (clapi_…).";
  if (!trimmed.startsWith("clapi_")) return "An API key starts with clapi_.";
  return undefined;
}

export function personalAccessTokenProblem(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.length === 0) return "Paste a personal access token (it starts with clapat_).";
  if (!isWellFormedPersonalAccessToken(trimmed)) return "This is not a Clarive personal access token (clapat_… with a valid checksum).";
  return undefined;
}
