import type { Knex } from "knex";
import type { Logger } from "pino";
import { API_KEY_PREFIX, isWellFormedPersonalAccessToken, PAT_PREFIX, secretHint } from "@clarive/shared";
import type { GitAuthCache, ThrottleState } from "../git/authCache";
import { sha256Hex } from "../lib/hash";
import { andThen, type MaybePromise } from "../lib/maybeAsync";
import { clearAuthFailures, pruneExpiredThrottles, recordAuthFailure, type TokenAuthRow } from "../repositories/gitAuth";
import type { AccessLevel } from "../repositories/gitRepositories";
import { audit } from "./audit";
import { effectivePatAccess } from "./repositories";
import { TokenUseRecorder } from "./tokenUse";

export interface GitAccessRequest {
  authorization: string | undefined;
  project: string;
  repository: string;
  write: boolean;
  ip: string | null;
}

export type GitAccessDecision =
  | { ok: true; username: string; tokenId: number }
  | { ok: false; status: 401 | 403 | 404 | 429; message: string; retryAfterSeconds?: number };

export interface ThrottlePolicy {
  maxFailures: number;
  windowSeconds: number;
  cooldownSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { maxFailures: 10, windowSeconds: 300, cooldownSeconds: 300 };

const looksLikeSecret = (value: string): boolean => value.startsWith(PAT_PREFIX) || value.startsWith(API_KEY_PREFIX);

function parseBasic(header: string): { username: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,2048})\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const forbidden = (message: string): GitAccessDecision => ({ ok: false, status: 403, message });

const ANONYMOUS: GitAccessDecision = Object.freeze({ ok: false, status: 401, message: "Authentication required" });

interface Login {
  throttleKeys: string[];
  username: string;
  ip: string | null;
}

/** One authorize() call, handed from step to step. */
interface Attempt {
  request: GitAccessRequest;
  login: Login;
  throttles: ThrottleState[];
}

/**
 * The PAT rules of DESIGN §5 for one git request. 401 means "these credentials are no good"
 * (git then forgets them), 403 "good credentials, not allowed here", 404 "no such repository".
 */
export class GitAuthenticator {
  private readonly uses: TokenUseRecorder;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Knex,
    private readonly cache: GitAuthCache,
    private readonly logger: Logger,
    private readonly throttle: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {
    this.uses = new TokenUseRecorder(db, logger);
  }

  /**
   * Counters of keys that never succeed (a scan of usernames or addresses) would otherwise
   * pile up forever, in the table and in every instance's mirror of it.
   */
  startPruning(intervalMs = this.throttle.windowSeconds * 1000): void {
    this.pruneTimer = setInterval(() => {
      pruneExpiredThrottles(this.db, this.throttle.windowSeconds).catch((error: unknown) =>
        this.logger.warn({ err: error }, "could not prune login throttles"),
      );
    }, intervalMs);
    this.pruneTimer.unref();
  }

  /**
   * For a change made through this instance: its very next git request must see it, and the
   * NOTIFY that reaches every instance may be processed only after that request.
   */
  forgetCachedAuth(): void {
    this.cache.invalidate();
  }

  /** Stops pruning and writes the last-use stamps still pending. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.uses.flush();
  }

  /**
   * Synchronous when everything it reads is cached (the common case: a proxy asks before
   * every git request), a promise otherwise. Each step below reads one cache and hands on.
   */
  authorize(request: GitAccessRequest): MaybePromise<GitAccessDecision> {
    // git's first request carries no credentials: the normal challenge, not a failed login.
    if (!request.authorization) return ANONYMOUS;
    const credentials = parseBasic(request.authorization);
    // A token pasted as the username (as some hosts allow) must never reach the audit trail or
    // the throttle keys: it is replaced by its hint there, and refused with a hint of the fix.
    const givenUsername = credentials?.username ?? "";
    const secretAsUsername = looksLikeSecret(givenUsername);
    const username = secretAsUsername ? secretHint(givenUsername) : givenUsername;
    const ipKey = `ip:${request.ip ?? "unknown"}`;
    const throttleKeys = username ? [ipKey, `user:${username.toLowerCase()}`] : [ipKey];
    const attempt: Attempt = { request, login: { throttleKeys, username, ip: request.ip }, throttles: [] };
    return andThen(this.cache.throttleStates(throttleKeys), (throttles) => {
      attempt.throttles = throttles;
      return this.checkCredentials(attempt, credentials, secretAsUsername);
    });
  }

  private checkCredentials(
    attempt: Attempt,
    credentials: { password: string } | null,
    secretAsUsername: boolean,
  ): MaybePromise<GitAccessDecision> {
    let blockedUntil = 0;
    for (const state of attempt.throttles) blockedUntil = Math.max(blockedUntil, state.blockedUntil ?? 0);
    if (blockedUntil > Date.now()) {
      return {
        ok: false,
        status: 429,
        message: "Too many failed logins; try again later",
        retryAfterSeconds: Math.ceil((blockedUntil - Date.now()) / 1000),
      };
    }
    const { login } = attempt;
    if (!credentials) {
      return this.refuseLogin(login, "malformed authorization header", "Use HTTP Basic authentication with a personal access token as the password");
    }
    if (secretAsUsername) {
      return this.refuseLogin(login, "token sent as the username", "Put your username in the username and the token in the password");
    }
    const { password } = credentials;
    if (password.startsWith(API_KEY_PREFIX)) {
      return this.refuseLogin(login, "API key used for git", "API keys are for the REST API; git needs a personal access token");
    }
    const tokenHash = sha256Hex(password);
    // A cached token is a real one, so its checksum needs no second look. Anything else has
    // its shape and checksum checked first: a malformed token costs no database query.
    const known = this.cache.cachedToken(tokenHash);
    if (known) return this.checkToken(attempt, known);
    if (!isWellFormedPersonalAccessToken(password)) return this.refuseLogin(login, "malformed token");
    return andThen(this.cache.token(tokenHash), (token) => this.checkToken(attempt, token));
  }

  private checkToken(attempt: Attempt, token: TokenAuthRow | null): MaybePromise<GitAccessDecision> {
    const { login, request } = attempt;
    if (!token) return this.refuseLogin(login, "unknown token");
    if (token.username !== login.username && token.username.toLowerCase() !== login.username.toLowerCase()) {
      return this.refuseLogin(login, "token used with another username");
    }
    if (!token.user_active) return this.refuseLogin(login, "owner deactivated");
    if (!token.active) return this.refuseLogin(login, "token inactive", "This token is deactivated");
    if (token.expires_at.getTime() <= Date.now()) return this.refuseLogin(login, "token expired", "This token has expired");
    return andThen(this.cache.repository(request.project, request.repository), (repository) => {
      const fullName = `${request.project}/${request.repository}`;
      if (!repository) return { ok: false, status: 404, message: `Repository ${fullName} not found` };
      return andThen(this.cache.patAuthEnabled(), (patAuthEnabled) => {
        if (!effectivePatAccess(repository.patAccess, patAuthEnabled)) {
          return forbidden(`Personal access tokens are not allowed for ${fullName}`);
        }
        if (!token.all_repositories && !token.scope.includes(repository.id)) {
          return forbidden(`This token does not grant access to ${fullName}`);
        }
        const ownerAccess = token.is_admin ? "write" : this.cache.membership(token.user_id, repository.id);
        return andThen(ownerAccess, (access) => this.checkPermission(attempt, token, fullName, access));
      });
    });
  }

  private checkPermission(attempt: Attempt, token: TokenAuthRow, fullName: string, ownerAccess: AccessLevel | null): MaybePromise<GitAccessDecision> {
    const { request, login, throttles } = attempt;
    if (!ownerAccess) return forbidden(`${token.username} has no access to ${fullName}`);
    if (request.write && ownerAccess !== "write") return forbidden(`${token.username} has read-only access to ${fullName}`);
    if (request.write && token.permission !== "read-write") {
      return forbidden("This token is read-only: pushing needs a read & write token");
    }
    this.uses.record(token.id, request.ip);
    const granted: GitAccessDecision = { ok: true, username: token.username, tokenId: token.id };
    // A success resets the counters, but only costs a write when there is something to reset.
    if (throttles.length === 0) return granted;
    return clearAuthFailures(this.db, login.throttleKeys).then(() => {
      this.cache.forgetThrottles(login.throttleKeys);
      return granted;
    });
  }

  /** A failed login: counted against the client's address and the username, and audited. */
  private async refuseLogin(
    login: Login,
    reason: string,
    message = "Invalid username or token",
  ): Promise<GitAccessDecision> {
    const { throttleKeys, username, ip } = login;
    const counted = await this.db.transaction(async (trx) => {
      const rows = [];
      for (const key of throttleKeys) {
        rows.push(await recordAuthFailure(trx, key, this.throttle.maxFailures, this.throttle.windowSeconds, this.throttle.cooldownSeconds));
      }
      await audit(trx, username ? { id: null, username } : null, "git.auth_failed", null, { ip }, { reason });
      return rows;
    });
    for (const row of counted) this.cache.noteThrottle(row);
    return { ok: false, status: 401, message };
  }
}
