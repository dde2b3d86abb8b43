import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Database } from "../db";
import type { Listener } from "../db/listener";
import { AUTH_CHANNEL, THROTTLE_CHANNEL } from "../db/migrations/002_git_auth";
import { findRepository, membershipAccess, type AccessLevel } from "../repositories/gitRepositories";
import { findThrottles, findTokenForAuth, loadLiveThrottles, type ThrottleRow, type TokenAuthRow } from "../repositories/gitAuth";
import { getGitSettings } from "../repositories/settings";

export interface RepositoryAuthInfo {
  id: number;
  patAccess: "inherit" | "true" | "false";
}

export interface ThrottleState {
  failures: number;
  windowStartedAt: number;
  blockedUntil: number | null;
}

const MAX_ENTRIES = 100_000;

/**
 * What git authentication reads on every request, kept in memory so the hot path makes no
 * database round trip. Correct across instances because every change that can alter a
 * decision is announced by a database trigger (LISTEN/NOTIFY) and empties the cache; while
 * the listening connection is down, nothing is served from memory.
 */
export class GitAuthCache {
  private healthy = false;
  private generation = 0;
  private readonly tokens = new Map<string, TokenAuthRow | null>();
  private readonly repositories = new Map<string, RepositoryAuthInfo | null>();
  private readonly memberships = new Map<string, AccessLevel | null>();
  private settings: { patAuthEnabled: boolean } | undefined;
  private readonly throttles = new Map<string, ThrottleState>();
  private listener: Listener | undefined;

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    private readonly throttleWindowSeconds: number,
  ) {}

  async start(database: Database): Promise<void> {
    this.listener = await database.listen([AUTH_CHANNEL, THROTTLE_CHANNEL], {
      onNotification: (channel, payload) => this.onNotification(channel, payload),
      onHealthChange: (healthy) => {
        this.logger[healthy ? "info" : "warn"]({ healthy }, "git auth cache notifications");
        this.healthy = false;
        this.invalidate();
        this.throttles.clear();
        if (healthy) void this.reloadThrottles();
      },
    });
  }

  async stop(): Promise<void> {
    await this.listener?.close();
  }

  private async reloadThrottles(): Promise<void> {
    try {
      const rows = await loadLiveThrottles(this.db, this.throttleWindowSeconds);
      for (const row of rows) this.throttles.set(row.key, toState(row));
      this.healthy = true;
    } catch (error) {
      this.logger.error({ err: error }, "could not load login throttles; git auth reads the database directly");
    }
  }

  private onNotification(channel: string, payload: string): void {
    if (channel === AUTH_CHANNEL) {
      this.invalidate();
      return;
    }
    const change = JSON.parse(payload) as { key: string; failures: number; windowStartedAt?: string; blockedUntil?: string | null };
    if (change.failures === 0) this.throttles.delete(change.key);
    else
      this.noteThrottleState(change.key, {
        failures: change.failures,
        windowStartedAt: Date.parse(change.windowStartedAt ?? ""),
        blockedUntil: change.blockedUntil ? Date.parse(change.blockedUntil) : null,
      });
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

  /** Drops every cached decision input; loads already under way are not kept either. */
  invalidate(): void {
    this.generation++;
    this.tokens.clear();
    this.repositories.clear();
    this.memberships.clear();
    this.settings = undefined;
  }

  /**
   * The cached value when there is a trustworthy one, else a promise of it: git auth asks
   * several of these on every request, and the warm path should not cost a promise each.
   */
  private memo<V>(map: Map<string, V>, key: string, load: () => Promise<V>): V | Promise<V> {
    if (this.healthy) {
      // Values are never undefined (a miss is cached as null), so undefined means "not cached".
      const cached = map.get(key);
      if (cached !== undefined) return cached;
    }
    return this.loadInto(map, key, load);
  }

  private async loadInto<V>(map: Map<string, V>, key: string, load: () => Promise<V>): Promise<V> {
    const generation = this.generation;
    const value = await load();
    // A change announced while loading may have made `value` stale: keep it only if none came.
    if (this.healthy && generation === this.generation) {
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(key, value);
    }
    return value;
  }

  /** The token of this hash if it is cached and live; never queries (undefined: not known). */
  cachedToken(tokenHash: string): TokenAuthRow | undefined {
    return this.healthy ? (this.tokens.get(tokenHash) ?? undefined) : undefined;
  }

  token(tokenHash: string): TokenAuthRow | null | Promise<TokenAuthRow | null> {
    return this.memo(this.tokens, tokenHash, async () => (await findTokenForAuth(this.db, tokenHash)) ?? null);
  }

  repository(project: string, name: string): RepositoryAuthInfo | null | Promise<RepositoryAuthInfo | null> {
    return this.memo(this.repositories, `${project}/${name}`, async () => {
      const row = await findRepository(this.db, project, name);
      return row ? { id: row.id, patAccess: row.pat_access } : null;
    });
  }

  membership(userId: number, repositoryId: number): AccessLevel | null | Promise<AccessLevel | null> {
    return this.memo(this.memberships, `${userId}:${repositoryId}`, () => membershipAccess(this.db, userId, repositoryId));
  }

  patAuthEnabled(): boolean | Promise<boolean> {
    if (this.healthy && this.settings) return this.settings.patAuthEnabled;
    return this.loadPatAuthEnabled();
  }

  private async loadPatAuthEnabled(): Promise<boolean> {
    const generation = this.generation;
    const patAuthEnabled = (await getGitSettings(this.db)).pat_auth_enabled;
    if (this.healthy && generation === this.generation) this.settings = { patAuthEnabled };
    return patAuthEnabled;
  }

  /** Throttle state of each key that has any; from memory when the mirror is trustworthy. */
  throttleStates(keys: string[]): ThrottleState[] | Promise<ThrottleState[]> {
    if (this.healthy) {
      const states: ThrottleState[] = [];
      for (const key of keys) {
        const state = this.throttles.get(key);
        if (state) states.push(state);
      }
      return states;
    }
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
