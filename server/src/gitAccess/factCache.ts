import type { Knex } from "knex";
import type { Logger } from "pino";
import type { MaybePromise } from "../lib/maybeAsync";
import { findRepository, membershipAccess, type AccessLevel } from "../repositories/gitRepositories";
import { findDeletedToken, findThrottles, findTokenForAuth, loadLiveThrottles, type ThrottleRow } from "../repositories/gitAuth";
import { getGitSettings } from "../repositories/settings";
import type { RepositoryRow } from "../repositories/types";
import type { ChangeFeed, ChangeSubscriber } from "./changeFeed";
import type { RepositoryFacts, ThrottleState, TokenLookup } from "./decision";

const MAX_ENTRIES = 100_000;

/** A repository's facts for the decision, and its push-protection switch for the push path. */
export interface CachedRepository extends RepositoryFacts {
  pushProtection: RepositoryRow["push_protection"];
}

export interface GitSwitches {
  patAuthEnabled: boolean;
  pushProtection: boolean;
}
/** Even with a healthy feed, nothing is served from memory longer than this (a missed trigger, a bug). */
export const MAX_ENTRY_AGE_MS = 60_000;

interface Entry<V> {
  value: V;
  loadedAt: number;
}

/**
 * What git authentication reads on every request, kept in memory so the hot path makes no
 * database round trip. Each read answers from memory only while the change feed is fresh
 * and the entry is younger than MAX_ENTRY_AGE_MS; a change announced by a trigger, or a gap
 * in the feed, empties it.
 */
export class FactCache implements ChangeSubscriber {
  /** Reads answered from memory (hits) or the database (misses), for GET /metrics. */
  readonly lookups = { hits: 0, misses: 0 };
  private generation = 0;
  private readonly tokens = new Map<string, Entry<TokenLookup>>();
  private readonly repositories = new Map<string, Entry<CachedRepository | null>>();
  private readonly memberships = new Map<string, Entry<AccessLevel | null>>();
  private settings: Entry<GitSwitches> | undefined;
  private readonly throttles = new Map<string, ThrottleState>();
  /** The throttle mirror is complete (loaded since the last gap). */
  private throttlesLoaded = false;
  /** Bumped by gaps only: an auth change during a reload must not throw the reload away. */
  private throttleEpoch = 0;

  constructor(
    private readonly db: Knex,
    private readonly feed: ChangeFeed,
    private readonly logger: Logger,
    private readonly throttleWindowSeconds: number,
  ) {
    feed.subscribe(this);
  }

  onAuthChange(): void {
    this.invalidate();
  }

  onGap(): void {
    this.invalidate();
    this.throttles.clear();
    this.throttlesLoaded = false;
    void this.reloadThrottles(++this.throttleEpoch);
  }

  onThrottleChange(payload: string): void {
    const change = JSON.parse(payload) as { key: string; failures: number; windowStartedAt?: string; blockedUntil?: string | null };
    if (change.failures === 0) this.throttles.delete(change.key);
    else
      this.noteThrottleState(change.key, {
        failures: change.failures,
        windowStartedAt: Date.parse(change.windowStartedAt ?? ""),
        blockedUntil: change.blockedUntil ? Date.parse(change.blockedUntil) : null,
      });
  }

  private async reloadThrottles(epoch: number): Promise<void> {
    try {
      const rows = await loadLiveThrottles(this.db, this.throttleWindowSeconds);
      // A later gap started its own reload; this one's rows may be older than what it knows.
      if (epoch !== this.throttleEpoch) return;
      for (const row of rows) this.noteThrottleState(row.key, toState(row));
      this.throttlesLoaded = true;
    } catch (error) {
      this.logger.warn({ err: error }, "could not load login throttles; git auth reads them from the database");
    }
  }

  /** Drops every cached decision input; loads already under way are not kept either. */
  private invalidate(): void {
    this.generation++;
    this.tokens.clear();
    this.repositories.clear();
    this.memberships.clear();
    this.settings = undefined;
  }

  /**
   * This instance's own throttle writes, applied at once: the notification of a failure may
   * arrive after the client's next request, which must already see the block.
   */
  noteThrottle(row: ThrottleRow): void {
    this.noteThrottleState(row.key, toState(row));
  }

  forgetThrottles(keys: string[]): void {
    for (const key of keys) this.throttles.delete(key);
  }

  /** Keeps the newer of two states of a key, so a late notification cannot undo a block. */
  private noteThrottleState(key: string, state: ThrottleState): void {
    const known = this.throttles.get(key);
    const older =
      known !== undefined &&
      (state.windowStartedAt < known.windowStartedAt ||
        (state.windowStartedAt === known.windowStartedAt && state.failures < known.failures));
    if (!older) this.throttles.set(key, state);
  }

  /** The cached value when there is a trustworthy one, else a promise of it (never undefined). */
  private memo<V>(map: Map<string, Entry<V>>, key: string, now: number, load: () => Promise<V>): MaybePromise<V> {
    const cached = map.get(key);
    if (cached !== undefined && now - cached.loadedAt < MAX_ENTRY_AGE_MS && this.feed.isFresh()) {
      this.lookups.hits++;
      return cached.value;
    }
    this.lookups.misses++;
    return this.loadInto(map, key, load);
  }

  private async loadInto<V>(map: Map<string, Entry<V>>, key: string, load: () => Promise<V>): Promise<V> {
    const generation = this.generation;
    const loadedAt = Date.now();
    const value = await load();
    // A change announced while loading may have made `value` stale: keep it only if none came.
    if (generation === this.generation && this.feed.isFresh()) {
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(key, { value, loadedAt });
    }
    return value;
  }

  /** The token of this hash if it is cached, live and trustworthy; never queries. */
  cachedToken(tokenHash: string, now: number): TokenLookup | undefined {
    const cached = this.tokens.get(tokenHash);
    // A miss here is counted by the token() lookup that follows it.
    if (cached?.value && now - cached.loadedAt < MAX_ENTRY_AGE_MS && this.feed.isFresh()) {
      this.lookups.hits++;
      return cached.value;
    }
    return undefined;
  }

  token(tokenHash: string, now: number): MaybePromise<TokenLookup> {
    // A deleted token's secret is known too (its refusal is no guess); only an unknown one costs the second lookup.
    return this.memo(
      this.tokens,
      tokenHash,
      now,
      async () => (await findTokenForAuth(this.db, tokenHash)) ?? (await findDeletedToken(this.db, tokenHash)) ?? null,
    );
  }

  repository(project: string, name: string, now: number): MaybePromise<CachedRepository | null> {
    return this.memo(this.repositories, `${project}/${name}`, now, async () => {
      const row = await findRepository(this.db, project, name);
      return row ? { id: row.id, patAccess: row.pat_access, pushProtection: row.push_protection } : null;
    });
  }

  membership(userId: number, repositoryId: number, now: number): MaybePromise<AccessLevel | null> {
    return this.memo(this.memberships, `${userId}:${repositoryId}`, now, () => membershipAccess(this.db, userId, repositoryId));
  }

  /** The global switches of the git settings: PAT authentication, and push protection. */
  gitSwitches(now: number): MaybePromise<GitSwitches> {
    const cached = this.settings;
    if (cached && now - cached.loadedAt < MAX_ENTRY_AGE_MS && this.feed.isFresh()) {
      this.lookups.hits++;
      return cached.value;
    }
    this.lookups.misses++;
    return this.loadGitSwitches();
  }

  private async loadGitSwitches(): Promise<GitSwitches> {
    const generation = this.generation;
    const loadedAt = Date.now();
    const row = await getGitSettings(this.db);
    const switches = { patAuthEnabled: row.pat_auth_enabled, pushProtection: row.push_protection };
    if (generation === this.generation && this.feed.isFresh()) this.settings = { value: switches, loadedAt };
    return switches;
  }

  /** Throttle state of each key that has any; from memory when the mirror is trustworthy. */
  throttleStates(keys: string[]): MaybePromise<ThrottleState[]> {
    if (this.throttlesLoaded && this.feed.isFresh()) {
      const states: ThrottleState[] = [];
      for (const key of keys) {
        const state = this.throttles.get(key);
        if (state) states.push(state);
      }
      this.lookups.hits++;
      return states;
    }
    this.lookups.misses++;
    return findThrottles(this.db, keys).then((rows) => rows.map(toState));
  }
}

function toState(row: { failures: number; window_started_at: Date; blocked_until: Date | null }): ThrottleState {
  return {
    failures: row.failures,
    windowStartedAt: row.window_started_at.getTime(),
    blockedUntil: row.blocked_until?.getTime() ?? null,
  };
}
