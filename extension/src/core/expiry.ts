/**
 * How a token's expiration reads in the tree: "expires in 5 days", "expires tomorrow", "expired 3 days ago",
 * and whether it deserves the warning colour. Pure, so the wording is unit-tested without an editor.
 */
import type { TokenDto } from "@clarive/shared";

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

export type ExpiryState = "ok" | "warning" | "expired";

export function expiryState(token: Pick<TokenDto, "expiresAt" | "expired">, warningDays: number, now: Date): ExpiryState {
  const remaining = Date.parse(token.expiresAt) - now.getTime();
  if (token.expired || remaining <= 0) return "expired";
  return remaining < warningDays * DAY_MS ? "warning" : "ok";
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

/**
 * A rough human span: hours under a day, days under ~2 months, then months, then years. Days are
 * rounded, so a 30-day token created a minute ago still reads "30 days", not "29".
 */
function span(ms: number): string {
  if (ms < HOUR_MS) return "less than an hour";
  if (ms < DAY_MS) return plural(Math.floor(ms / HOUR_MS), "hour");
  const days = Math.max(1, Math.round(ms / DAY_MS));
  if (days < 60) return plural(days, "day");
  if (days < 730) return plural(Math.floor(days / 30), "month");
  return plural(Math.floor(days / 365), "year");
}

/** "expires in 5 days" / "expired 2 days ago". */
export function relativeExpiry(expiresAt: string, now: Date): string {
  const remaining = Date.parse(expiresAt) - now.getTime();
  if (remaining > 0) {
    if (remaining >= DAY_MS && Math.round(remaining / DAY_MS) === 1) return "expires tomorrow";
    return `expires in ${span(remaining)}`;
  }
  const past = -remaining;
  if (past < HOUR_MS) return "expired just now";
  return `expired ${span(past)} ago`;
}

/** A date for tooltips, in UTC so the output does not depend on the machine's zone. */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Active tokens that expire within the warning window (and have not expired yet), soonest first. */
export function tokensExpiringSoon<T extends Pick<TokenDto, "expiresAt" | "expired" | "active">>(
  tokens: readonly T[],
  warningDays: number,
  now: Date,
): T[] {
  return tokens
    .filter((token) => token.active && expiryState(token, warningDays, now) === "warning")
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
}
