import type { Knex } from "knex";
import type { Logger } from "pino";
import { clearAuthFailures, pruneExpiredThrottles, recordAuthFailure } from "../repositories/gitAuth";
import { audit } from "../services/audit";
import type { Clock } from "../lib/clock";
import { markReuseDetected } from "../repositories/tokens";
import type { Credentials, GitAccessDecision, GitAccessFacts, GitAccessRequest, Refusal } from "./decision";
import type { FactCache } from "./factCache";
import { TokenUseRecorder } from "./tokenUse";

export interface ThrottlePolicy {
  maxFailures: number;
  windowSeconds: number;
  cooldownSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { maxFailures: 10, windowSeconds: 300, cooldownSeconds: 300 };

/**
 * What a decision causes, in one place: a failed login is counted (per address and per
 * username) and audited before the answer goes out, so the client's next request already
 * sees a block; a success records the token's use (batched, off the request path) and
 * resets the counters that had started.
 */
export class DecisionEffects {
  private readonly uses: TokenUseRecorder;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Knex,
    private readonly cache: FactCache,
    logger: Logger,
    private readonly throttle: ThrottlePolicy,
    private readonly clock: Clock,
  ) {
    this.uses = new TokenUseRecorder(db, logger);
    // Counters of keys that never succeed (a scan of usernames or addresses) would otherwise
    // pile up forever, in the table and in every instance's mirror of it.
    this.pruneTimer = setInterval(() => {
      pruneExpiredThrottles(db, throttle.windowSeconds).catch((error: unknown) =>
        logger.warn({ err: error }, "could not prune login throttles"),
      );
    }, throttle.windowSeconds * 1000);
    this.pruneTimer.unref();
  }

  /** Resolves to the decision once what must happen before the answer has happened. */
  apply(
    request: GitAccessRequest,
    credentials: Credentials,
    facts: GitAccessFacts,
    decision: GitAccessDecision,
  ): GitAccessDecision | Promise<GitAccessDecision> {
    if (decision.ok) {
      this.uses.record(decision.tokenId, request.ip);
      // A success resets the counters, but only costs a write when there is something to reset.
      if (!facts.throttles?.length) return decision;
      return clearAuthFailures(this.db, credentials.throttleKeys).then(() => {
        this.cache.forgetThrottles(credentials.throttleKeys);
        return decision;
      });
    }
    if (!decision.failedLogin) return decision;
    return this.recordFailedLogin(request, credentials, decision).then(() => decision);
  }

  private async recordFailedLogin(request: GitAccessRequest, credentials: Credentials, refusal: Refusal): Promise<void> {
    const { reason, reusedTokenId } = refusal;
    const { maxFailures, windowSeconds, cooldownSeconds } = this.throttle;
    const counted = await this.db.transaction(async (trx) => {
      const rows = [];
      for (const key of credentials.throttleKeys) rows.push(await recordAuthFailure(trx, key, maxFailures, windowSeconds, cooldownSeconds));
      const actor = credentials.username ? { id: null, username: credentials.username } : null;
      await audit(trx, actor, "git.auth_failed", null, { ip: request.ip }, { reason });
      if (reusedTokenId !== undefined) {
        await audit(trx, actor, "token.reuse_detected", `token:${reusedTokenId}`, { ip: request.ip });
        await markReuseDetected(trx, reusedTokenId, new Date(this.clock.now()));
      }
      return rows;
    });
    for (const row of counted) this.cache.noteThrottle(row);
  }

  /** Stops pruning and writes the last-use stamps still pending. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.uses.flush();
  }
}
