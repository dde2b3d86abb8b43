import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Database } from "../db";
import type { DatabaseAvailability } from "../db/unavailable";
import { sha256Hex } from "../lib/hash";
import { systemClock, type Clock } from "../lib/clock";
import { andThen, type MaybePromise } from "../lib/maybeAsync";
import { effectivePushProtection } from "../policies/patAccess";
import { ChangeFeed, DEFAULT_FEED_TIMING, type ChangeFeedTiming } from "./changeFeed";
import {
  decide,
  readCredentials,
  type Credentials,
  type Fact,
  type GitAccessDecision,
  type GitAccessFacts,
  type GitAccessRequest,
} from "./decision";
import { DecisionEffects } from "./effects";
import { FactCache } from "./factCache";
import { LoginThrottle } from "./loginThrottle";
import { DEFAULT_THROTTLE, type ThrottlePolicy } from "./throttlePolicy";

export type { GitAccessDecision, GitAccessRequest, Refusal } from "./decision";
export { DEFAULT_THROTTLE, type ThrottlePolicy } from "./throttlePolicy";
export type { LoginThrottle } from "./loginThrottle";
export { normalizeAllowList, MAX_ALLOWED_IPS } from "./ipAllowList";
export { DEFAULT_FEED_TIMING, type ChangeFeedTiming } from "./changeFeed";

export interface GitAccessOptions {
  throttle?: ThrottlePolicy;
  feedTiming?: ChangeFeedTiming;
  /** The time decisions are made at (expiry, grace windows); tests move it. */
  clock?: Clock;
  /** Told every decision, as it is answered (GET /metrics counts them). */
  onDecision?: (decision: GitAccessDecision) => void;
}

/**
 * Who may do what over git, for the git routes and the auth hook alike: the facts of a
 * request are loaded (from memory when the change feed vouches for it), the pure decision
 * is made over them (decision.ts), and what it causes is applied (effects.ts).
 *
 *   request ─ readCredentials ─► decide ⇄ load a fact (FactCache) ─► DecisionEffects ─► answer
 */
export class GitAccess {
  private readonly feed: ChangeFeed;
  private readonly cache: FactCache;
  private readonly effects: DecisionEffects;
  private readonly clock: Clock;
  private readonly availability: DatabaseAvailability;
  private readonly onDecision: ((decision: GitAccessDecision) => void) | undefined;
  /** The failed-login counters and policy, shared with the REST login (services/auth.ts). */
  readonly loginThrottle: LoginThrottle;

  private constructor(db: Knex, database: Database, logger: Logger, options: GitAccessOptions) {
    const throttle = options.throttle ?? DEFAULT_THROTTLE;
    this.availability = database.availability;
    this.feed = new ChangeFeed(
      db,
      (channels, handlers) => database.listen(channels, handlers),
      logger,
      options.feedTiming ?? DEFAULT_FEED_TIMING,
    );
    this.cache = new FactCache(db, this.feed, logger, throttle.windowSeconds);
    this.clock = options.clock ?? systemClock;
    this.onDecision = options.onDecision;
    this.loginThrottle = new LoginThrottle(db, this.cache, throttle);
    this.effects = new DecisionEffects(db, this.loginThrottle, logger, this.clock);
  }

  static async start(database: Database, logger: Logger, options: GitAccessOptions = {}): Promise<GitAccess> {
    const access = new GitAccess(database.knex, database, logger, options);
    await access.feed.start();
    return access;
  }

  async stop(): Promise<void> {
    await this.effects.stop();
    await this.feed.stop();
  }

  /**
   * After a change to what decisions read has committed: resolves once no instance can
   * still decide on the old facts (see ChangeFeed.barrier). Never rejects.
   */
  settleChanges(): Promise<void> {
    return this.feed.barrier();
  }

  /**
   * Whether pushes to this repository are scanned (DESIGN §5), from the same facts as the
   * decision and with the same freshness: a switch turned on is seen by every instance before
   * the REST answer that turned it on (settleChanges). Null for a repository that does not exist.
   */
  isPushProtected(project: string, repository: string): MaybePromise<boolean | null> {
    this.availability.assertReachable();
    const now = this.clock.now();
    return andThen(this.cache.repository(project, repository, now), (facts) =>
      facts === null
        ? null
        : andThen(this.cache.gitSwitches(now), (global) => effectivePushProtection(facts.pushProtection, global.pushProtection)),
    );
  }

  /** How many fact reads were answered from memory and from the database so far. */
  get cacheLookups(): { hits: number; misses: number } {
    return this.cache.lookups;
  }

  get cacheTrusted(): boolean {
    return this.feed.isFresh();
  }

  /**
   * Synchronous when every fact it needs is cached (the common case: a proxy asks before
   * every git request), a promise otherwise.
   */
  authorize(request: GitAccessRequest): MaybePromise<GitAccessDecision> {
    // Fail closed at once while the database is known to be away (the callers answer 503).
    this.availability.assertReachable();
    const credentials = readCredentials(request.authorization, request.ip);
    const facts: GitAccessFacts = { now: this.clock.now() };
    const password = credentials.basic?.password;
    // A token found by its hash is a real one, so the decision skips its checksum.
    if (password !== undefined) {
      const known = this.cache.cachedToken(sha256Hex(password), facts.now);
      if (known) facts.token = known;
    }
    const decision = this.settle(request, credentials, facts);
    const observe = this.onDecision;
    if (!observe) return decision;
    return andThen(decision, (settled) => {
      observe(settled);
      return settled;
    });
  }

  private settle(request: GitAccessRequest, credentials: Credentials, facts: GitAccessFacts): MaybePromise<GitAccessDecision> {
    for (;;) {
      const step = decide(request, credentials, facts);
      if (!("need" in step)) return this.effects.apply(request, credentials, facts, step);
      const loading = this.load(step.need, request, credentials, facts);
      if (loading) {
        return loading.then(() => {
          // Expiry and blocks are judged at the time of the decision, not of the request's start.
          facts.now = this.clock.now();
          return this.settle(request, credentials, facts);
        });
      }
    }
  }

  /** Fills in one fact: at once from memory (returns undefined), or a promise of it. */
  private load(fact: Fact, request: GitAccessRequest, credentials: Credentials, facts: GitAccessFacts): Promise<void> | undefined {
    const { now } = facts;
    switch (fact) {
      case "throttles":
        return fill(this.cache.throttleStates(credentials.throttleKeys), (v) => (facts.throttles = v));
      case "token":
        return fill(this.cache.token(sha256Hex(credentials.basic?.password ?? ""), now), (v) => (facts.token = v));
      case "repository":
        return fill(this.cache.repository(request.project, request.repository, now), (v) => (facts.repository = v));
      case "patAuthEnabled":
        return fill(this.cache.gitSwitches(now), (v) => (facts.patAuthEnabled = v.patAuthEnabled));
      case "ownerAccess": {
        const userId = facts.token?.user_id;
        const repositoryId = facts.repository?.id;
        if (userId === undefined || repositoryId === undefined) throw new Error("ownerAccess needs the token and the repository");
        return fill(this.cache.membership(userId, repositoryId, now), (v) => (facts.ownerAccess = v));
      }
    }
  }
}

function fill<T>(value: MaybePromise<T>, set: (value: T) => void): Promise<void> | undefined {
  if (value instanceof Promise) return value.then(set);
  set(value);
  return undefined;
}
