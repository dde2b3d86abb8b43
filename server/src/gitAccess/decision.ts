import { API_KEY_PREFIX, isWellFormedPersonalAccessToken, PAT_PREFIX, secretHint, type PatAccess } from "@clarive/shared";
import { effectivePatAccess } from "../policies/patAccess";
import type { AccessLevel } from "../repositories/gitRepositories";
import type { DeletedTokenRow, TokenAuthRow } from "../repositories/gitAuth";
import { allowListPermits } from "./ipAllowList";
import { loginThrottleKeys, retryAfterSeconds, type ThrottleState } from "./throttlePolicy";

/**
 * The PAT rules of DESIGN §5 as one pure function of the facts of a request. 401 means
 * "these credentials are no good" (git then forgets them), 403 "good credentials, not
 * allowed here", 404 "no such repository", 429 "too many failed logins".
 */

export interface GitAccessRequest {
  authorization: string | undefined;
  project: string;
  repository: string;
  /** receive-pack (push) writes; everything else reads. */
  write: boolean;
  ip: string | null;
}

export type TokenFacts = TokenAuthRow;
/** What a secret turned out to be: a token, one that was deleted, or nothing known (null). */
export type TokenLookup = TokenFacts | DeletedTokenRow | null;
export type { ThrottleState };

export interface RepositoryFacts {
  id: number;
  patAccess: PatAccess;
}

/** What is known about a request; a fact left undefined has not been loaded yet. */
export interface GitAccessFacts {
  /** Milliseconds since the epoch, for expiry and throttle checks. */
  now: number;
  throttles?: ThrottleState[];
  token?: TokenLookup;
  repository?: RepositoryFacts | null;
  patAuthEnabled?: boolean;
  ownerAccess?: AccessLevel | null;
}

export type Fact = "throttles" | "token" | "repository" | "patAuthEnabled" | "ownerAccess";

export interface Refusal {
  ok: false;
  status: 401 | 403 | 404 | 429;
  /** Shown to git (403: as "remote: …"). */
  message: string;
  /** For the audit trail; never holds a secret. */
  reason: string;
  /** A failed login: audited (git.auth_failed). */
  failedLogin: boolean;
  /**
   * A guess (an unknown or malformed secret, a name that does not go with the token): counted
   * toward a lockout. A real token refused for being deactivated, deleted or expired is not a
   * guess, so a CI job retrying with a revoked token never locks its owner out.
   */
  countsTowardLockout: boolean;
  /** A secret this token had before a rotation, presented after its grace window. */
  reusedTokenId?: number;
  retryAfterSeconds?: number;
}

export type GitAccessDecision = { ok: true; username: string; tokenId: number; expiresAt: Date } | Refusal;

/** A decision, or the fact it needs before it can be made. */
export type DecisionStep = GitAccessDecision | { need: Fact };

export interface Credentials {
  /** Whether an Authorization header came at all (git's first request sends none). */
  present: boolean;
  basic: { username: string; password: string } | null;
  /** The username as it may be stored: a secret pasted there becomes its hint, control characters become U+FFFD. */
  username: string;
  secretAsUsername: boolean;
  /** Failed logins are counted per client address and per username at that address (throttlePolicy.ts). */
  throttleKeys: string[];
}

const looksLikeSecret = (value: string): boolean => value.startsWith(PAT_PREFIX) || value.startsWith(API_KEY_PREFIX);
const BASIC = /^Basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i;
// Postgres text cannot hold NUL, and no log or audit reader wants the rest.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** Reads an Authorization header: pure, so the decision below is a function of it. */
export function readCredentials(authorization: string | undefined, ip: string | null): Credentials {
  if (!authorization)
    return { present: false, basic: null, username: "", secretAsUsername: false, throttleKeys: loginThrottleKeys("", ip) };
  const basic = parseBasic(authorization);
  const given = basic?.username ?? "";
  // A token pasted as the username (as some hosts allow) must never reach the audit trail or
  // the throttle keys: it is replaced by its hint there, and refused with a hint of the fix.
  const secretAsUsername = looksLikeSecret(given);
  const username = (secretAsUsername ? secretHint(given) : given).replace(CONTROL, "\uFFFD");
  return { present: true, basic, username, secretAsUsername, throttleKeys: loginThrottleKeys(username, ip) };
}

function parseBasic(header: string): { username: string; password: string } | null {
  const match = BASIC.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const ANONYMOUS: Refusal = Object.freeze({
  ok: false,
  status: 401,
  message: "Authentication required",
  reason: "no credentials",
  failedLogin: false,
  countsTowardLockout: false,
});

const failedLogin = (reason: string, message = "Invalid username or token"): Refusal => ({
  ok: false,
  status: 401,
  message,
  reason,
  failedLogin: true,
  countsTowardLockout: true,
});

/** A real token refused (still a 401, so git forgets it), which is no guess. */
const refusedKnownToken = (reason: string, message?: string): Refusal => ({ ...failedLogin(reason, message), countsTowardLockout: false });

const forbidden = (reason: string, message: string): Refusal => ({
  ok: false,
  status: 403,
  message,
  reason,
  failedLogin: false,
  countsTowardLockout: false,
});

/**
 * The next step for a request: a decision, or the fact to load first. Called again with
 * the fact filled in, it goes on where it stopped; facts are asked for in the order the
 * rules need them, so a refused login never loads a repository.
 */
export function decide(request: GitAccessRequest, credentials: Credentials, facts: GitAccessFacts): DecisionStep {
  // git's first request carries no credentials: the normal challenge, not a failed login.
  if (!credentials.present) return ANONYMOUS;
  if (facts.throttles === undefined) return { need: "throttles" };
  const retryAfter = retryAfterSeconds(facts.throttles, facts.now);
  if (retryAfter !== null) {
    return {
      ok: false,
      status: 429,
      message: "Too many failed logins; try again later",
      reason: "throttled",
      failedLogin: false,
      countsTowardLockout: false,
      retryAfterSeconds: retryAfter,
    };
  }
  const { basic } = credentials;
  if (!basic)
    return failedLogin("malformed authorization header", "Use HTTP Basic authentication with a personal access token as the password");
  if (credentials.secretAsUsername) {
    return failedLogin("token sent as the username", "Put your username in the username and the token in the password");
  }
  if (basic.password.startsWith(API_KEY_PREFIX)) {
    return failedLogin("API key used for git", "API keys are for the REST API; git needs a personal access token");
  }
  const { token } = facts;
  if (token === undefined) {
    // A malformed token costs no lookup. (A token already found by its hash needs no such check.)
    return isWellFormedPersonalAccessToken(basic.password) ? { need: "token" } : failedLogin("malformed token");
  }
  if (!token) return failedLogin("unknown token");
  if ("deleted" in token) return refusedKnownToken("token deleted");
  // A rotated-out secret works until its grace window ends; after that, using it is a sign
  // that it leaked, and the owner is told (DecisionEffects).
  if (token.retired_until && token.retired_until.getTime() <= facts.now) {
    return { ...refusedKnownToken("rotated-out secret reused"), reusedTokenId: token.id };
  }
  if (token.username !== basic.username && token.username.toLowerCase() !== basic.username.toLowerCase()) {
    return failedLogin("token used with another username");
  }
  if (!token.user_active) return refusedKnownToken("owner deactivated");
  if (!token.active) return refusedKnownToken("token inactive", "This token is deactivated");
  if (token.expires_at.getTime() <= facts.now) return refusedKnownToken("token expired", "This token has expired");
  // Before the repository is looked up: from elsewhere the token reveals nothing about what exists.
  if (!allowListPermits(token.allowed_ips, request.ip)) {
    // Audited (a sign the token may be in the wrong hands), never counted: the secret is real.
    return {
      ...forbidden("address not allowed", `This token cannot be used from ${request.ip ?? "an unknown address"}`),
      failedLogin: true,
    };
  }

  if (facts.repository === undefined) return { need: "repository" };
  const fullName = `${request.project}/${request.repository}`;
  const { repository } = facts;
  if (!repository) {
    return {
      ok: false,
      status: 404,
      message: `Repository ${fullName} not found`,
      reason: "no such repository",
      failedLogin: false,
      countsTowardLockout: false,
    };
  }
  if (facts.patAuthEnabled === undefined) return { need: "patAuthEnabled" };
  if (!effectivePatAccess(repository.patAccess, facts.patAuthEnabled)) {
    return forbidden("pat access off", `Personal access tokens are not allowed for ${fullName}`);
  }
  if (!token.all_repositories && !token.scope.includes(repository.id)) {
    return forbidden("out of scope", `This token does not grant access to ${fullName}`);
  }
  // A token never grants more than its owner has at the time of the request; admins have write everywhere.
  const ownerAccess = token.is_admin ? "write" : facts.ownerAccess;
  if (ownerAccess === undefined) return { need: "ownerAccess" };
  if (!ownerAccess) return forbidden("owner has no access", `${token.username} has no access to ${fullName}`);
  if (request.write && ownerAccess !== "write") {
    return forbidden("owner has read-only access", `${token.username} has read-only access to ${fullName}`);
  }
  if (request.write && token.permission !== "read-write") {
    return forbidden("read-only token", "This token is read-only: pushing needs a read & write token");
  }
  return { ok: true, username: token.username, tokenId: token.id, expiresAt: token.expires_at };
}
