/**
 * Pure parts of the login-throttle policy (no I/O): decision.ts reads them, loginThrottle.ts
 * applies them to the counters.
 */

export interface ThrottleState {
  failures: number;
  windowStartedAt: number;
  blockedUntil: number | null;
}

/**
 * The one policy for failed logins, REST (POST /auth/login) and git's Basic auth alike, on the
 * same counters (auth_throttle, mirrored by every instance):
 * - per username from one address: `maxFailures` in `windowSeconds` block that pair;
 * - per address across usernames: `maxFailuresPerAddress` block the address.
 * Neither blocks a username everywhere: the same user from another address still gets in, so
 * nobody can lock someone else out by failing on purpose.
 */
export interface ThrottlePolicy {
  maxFailures: number;
  /** Defaults to 10 × maxFailures. */
  maxFailuresPerAddress?: number;
  windowSeconds: number;
  cooldownSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { maxFailures: 10, maxFailuresPerAddress: 100, windowSeconds: 300, cooldownSeconds: 300 };

const ADDRESS_PREFIX = "ip:";

/**
 * The counters a login attempt touches: its address, and (with a username) the username at
 * that address. An address holds no space, so "login:<address> <username>" is unambiguous.
 */
export function loginThrottleKeys(username: string, ip: string | null): string[] {
  const address = ip ?? "unknown";
  const keys = [`${ADDRESS_PREFIX}${address}`];
  if (username) keys.push(`login:${address} ${username.toLowerCase()}`);
  return keys;
}

/** A success forgets the username's counter at that address, never the address's own (one good account must not reset it). */
export const keysClearedBySuccess = (keys: string[]): string[] => keys.filter((key) => !key.startsWith(ADDRESS_PREFIX));

export const limitOf = (policy: ThrottlePolicy, key: string): number =>
  key.startsWith(ADDRESS_PREFIX) ? (policy.maxFailuresPerAddress ?? policy.maxFailures * 10) : policy.maxFailures;

/** Seconds until every block among these states is over, or null when none is in force. */
export function retryAfterSeconds(states: ThrottleState[], now: number): number | null {
  let blockedUntil = 0;
  for (const state of states) blockedUntil = Math.max(blockedUntil, state.blockedUntil ?? 0);
  return blockedUntil > now ? Math.ceil((blockedUntil - now) / 1000) : null;
}
