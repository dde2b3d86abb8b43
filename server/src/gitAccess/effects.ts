import type { Knex } from "knex";
import type { Logger } from "pino";
import { pruneExpiredThrottles } from "../repositories/gitAuth";
import { audit } from "../services/audit";
import type { Clock } from "../lib/clock";
import { markReuseDetected } from "../repositories/tokens";
import type { Credentials, GitAccessDecision, GitAccessFacts, GitAccessRequest, Refusal } from "./decision";
import type { LoginThrottle } from "./loginThrottle";
import { TokenUseRecorder } from "./tokenUse";

/**
 * What a decision causes, in one place: a failed login is audited, and a guess counted
 * (throttlePolicy.ts), before the answer goes out, so the client's next request already sees
 * a block; a success records the token's use (batched, off the request path, with its
 * address) and resets the username's counter at that address.
 */
export class DecisionEffects {
  private readonly uses: TokenUseRecorder;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Knex,
    private readonly throttle: LoginThrottle,
    logger: Logger,
    private readonly clock: Clock,
  ) {
    this.uses = new TokenUseRecorder(db, logger);
    const { windowSeconds } = throttle.policy;
    // Counters of keys that never succeed (a scan of usernames or addresses) would otherwise
    // pile up forever, in the table and in every instance's mirror of it.
    this.pruneTimer = setInterval(() => {
      pruneExpiredThrottles(db, windowSeconds).catch((error: unknown) => logger.warn({ err: error }, "could not prune login throttles"));
    }, windowSeconds * 1000);
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
      return this.throttle.succeeded(credentials.throttleKeys, facts.throttles).then(() => decision);
    }
    if (!decision.failedLogin) return decision;
    return this.recordFailedLogin(request, credentials, decision).then(() => decision);
  }

  private async recordFailedLogin(request: GitAccessRequest, credentials: Credentials, refusal: Refusal): Promise<void> {
    const { reason, reusedTokenId } = refusal;
    const counted = await this.db.transaction(async (trx) => {
      const rows = refusal.countsTowardLockout ? await this.throttle.count(trx, credentials.throttleKeys) : [];
      const actor = credentials.username ? { id: null, username: credentials.username } : null;
      await audit(trx, actor, "git.auth_failed", null, { ip: request.ip }, { reason });
      if (reusedTokenId !== undefined) {
        await audit(trx, actor, "token.reuse_detected", `token:${reusedTokenId}`, { ip: request.ip });
        await markReuseDetected(trx, reusedTokenId, new Date(this.clock.now()));
      }
      return rows;
    });
    this.throttle.noteCounted(counted);
  }

  /** Stops pruning and writes the last-use stamps still pending. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.uses.flush();
  }
}
