import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { ALL_CHANNELS, AUTH_CHANNEL, INSTANCE_CHANNEL, THROTTLE_CHANNEL } from "../db/channels";
import type { Listener, NotificationHandlers } from "../db/listener";
import { beatAndNotify, notify, notifyAndListLive, pruneDeadInstances, removeInstance } from "../repositories/instances";

export interface ChangeFeedTiming {
  /** How often an instance sends itself a heartbeat through the pool. */
  heartbeatMs: number;
  /** A listener whose last returned heartbeat was sent longer ago than this is not trusted. */
  staleAfterMs: number;
  /** The longest a revoking request waits for the other instances; must exceed staleAfterMs. */
  barrierTimeoutMs: number;
}

export const DEFAULT_FEED_TIMING: ChangeFeedTiming = { heartbeatMs: 200, staleAfterMs: 750, barrierTimeoutMs: 1000 };

/**
 * Instance rows older than this are not waited for (a killed instance costs writes the full
 * barrier wait until then); much older ones are pruned. Wide enough for a step of the
 * database's clock.
 */
const LIVE_SECONDS = 5;
const DEAD_SECONDS = 60;

export interface ChangeSubscriber {
  onAuthChange(): void;
  onThrottleChange(payload: string): void;
  /** Notifications may have been missed: forget everything learnt from the feed. */
  onGap(): void;
}

interface Barrier {
  /** Instances to wait for; null until the ping's statement has answered. */
  waiting: Set<string> | null;
  acked: Set<string>;
  done: () => void;
}

type Listen = (channels: string[], handlers: NotificationHandlers) => Promise<Listener>;

/**
 * Tells this instance's caches what changed in the database, and how far they can be
 * trusted. Two promises rest on it (DESIGN §7):
 *
 * - Bounded staleness. The instance sends itself a heartbeat NOTIFY through the pool every
 *   `heartbeatMs`; it comes back on the LISTEN connection after every change committed
 *   before it. The feed is fresh while the last heartbeat that came back was sent less than
 *   `staleAfterMs` ago; otherwise caches are bypassed and the silent connection is replaced.
 * - Strict revocation. `barrier()`, called after a REST write commits, pings every live
 *   instance through the same channel and waits for each to acknowledge, which each does
 *   once the ping, and so every earlier change, has reached its listener. It never waits
 *   longer than `barrierTimeoutMs`: an instance that still trusts its cache by then has had
 *   a heartbeat come back that it sent after the change committed.
 */
export class ChangeFeed {
  readonly instanceId = randomUUID();
  private listener: Listener | undefined;
  private connected = false;
  /** performance.now() when the last heartbeat that came back was sent. */
  private confirmedSentAt = Number.NEGATIVE_INFINITY;
  private trusted = false;
  /** performance.now() when trust was last held or the connection last opened. */
  private lastGoodAt = performance.now();
  private beatSeq = 0;
  private readonly beatsInFlight = new Map<number, { sentAt: number; listening: boolean }>();
  private beating = false;
  private failingSince: number | undefined;
  private pingSeq = 0;
  private readonly barriers = new Map<number, Barrier>();
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly subscribers: ChangeSubscriber[] = [];
  private stopped = false;

  constructor(
    private readonly db: Knex,
    private readonly listen: Listen,
    private readonly logger: Logger,
    private readonly timing: ChangeFeedTiming = DEFAULT_FEED_TIMING,
  ) {
    if (timing.barrierTimeoutMs <= timing.staleAfterMs) throw new Error("barrierTimeoutMs must exceed staleAfterMs");
  }

  subscribe(subscriber: ChangeSubscriber): void {
    this.subscribers.push(subscriber);
  }

  async start(): Promise<void> {
    this.listener = await this.listen(ALL_CHANNELS, {
      onNotification: (channel, payload) => this.onNotification(channel, payload),
      onConnectionChange: (connected) => this.onConnectionChange(connected),
    });
    this.timer = setInterval(() => this.tick(), this.timing.heartbeatMs);
    this.timer.unref();
    this.pruneTimer = setInterval(() => {
      pruneDeadInstances(this.db, DEAD_SECONDS).catch((error: unknown) => this.logger.debug({ err: error }, "could not prune instances"));
    }, DEAD_SECONDS * 1000);
    this.pruneTimer.unref();
    this.beat();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    for (const barrier of this.barriers.values()) barrier.done();
    await this.listener?.close();
    await removeInstance(this.db, this.instanceId).catch(() => undefined);
  }

  /** Whether what the notifications said so far may be trusted now. Cheap: the git hot path asks it. */
  isFresh(now = performance.now()): boolean {
    return this.connected && now - this.confirmedSentAt < this.timing.staleAfterMs;
  }

  /**
   * Resolves once every instance that may be serving from its cache has seen every change
   * committed before the call: when every live instance has acknowledged a ping sent after
   * them, or at the latest after barrierTimeoutMs. That bound is what makes it strict: an
   * instance still trusting its cache by then had a heartbeat come back that was sent after
   * the call began, so after the change, and so it has applied the change. Never rejects.
   */
  async barrier(): Promise<void> {
    if (this.stopped) return;
    const seq = ++this.pingSeq;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const barrier: Barrier = { waiting: null, acked: new Set(), done };
    this.barriers.set(seq, barrier);
    const timeout = setTimeout(() => {
      const missing = barrier.waiting ? [...barrier.waiting].filter((id) => !barrier.acked.has(id)) : "the ping was not sent";
      this.logger.warn({ missing }, "a change was not acknowledged in time; instances that missed it no longer trust their caches");
      done();
    }, this.timing.barrierTimeoutMs);
    notifyAndListLive(this.db, INSTANCE_CHANNEL, `ping ${this.instanceId} ${seq}`, LIVE_SECONDS, this.timing.barrierTimeoutMs).then(
      (live) => {
        barrier.waiting = new Set(live);
        this.settleIfComplete(barrier);
      },
      // The change is committed; a ping that fails must not fail the request, which waits out
      // the bound instead.
      (error: unknown) => this.logger.warn({ err: error }, "could not ask the other instances to acknowledge a change"),
    );
    await finished;
    clearTimeout(timeout);
    this.barriers.delete(seq);
  }

  private settleIfComplete(barrier: Barrier): void {
    if (!barrier.waiting) return;
    for (const id of barrier.waiting) if (!barrier.acked.has(id)) return;
    barrier.done();
  }

  private onConnectionChange(connected: boolean): void {
    this.connected = connected;
    this.lastGoodAt = performance.now();
    this.logger[connected ? "info" : "warn"]({ connected }, "change feed connection");
    // Either way notifications may have been missed in between; trust returns with the next heartbeat.
    this.loseTrust();
    if (connected) this.beat();
  }

  private onNotification(channel: string, payload: string): void {
    if (channel === AUTH_CHANNEL) {
      for (const s of this.subscribers) s.onAuthChange();
    } else if (channel === THROTTLE_CHANNEL) {
      for (const s of this.subscribers) s.onThrottleChange(payload);
    } else if (channel === INSTANCE_CHANNEL) {
      this.onInstanceMessage(payload);
    }
  }

  private onInstanceMessage(payload: string): void {
    const [kind, to, seqText, from] = payload.split(" ");
    const seq = Number(seqText);
    if (kind === "beat" && to === this.instanceId) {
      this.confirmBeat(seq);
    } else if (kind === "ping" && to !== undefined) {
      if (to === this.instanceId) this.noteAck(seq, this.instanceId);
      else {
        notify(this.db, INSTANCE_CHANNEL, `ack ${to} ${seq} ${this.instanceId}`).catch((error: unknown) =>
          this.logger.debug({ err: error }, "could not acknowledge a change"),
        );
      }
    } else if (kind === "ack" && to === this.instanceId && from !== undefined) {
      this.noteAck(seq, from);
    }
  }

  private noteAck(seq: number, from: string): void {
    const barrier = this.barriers.get(seq);
    if (!barrier) return;
    barrier.acked.add(from);
    this.settleIfComplete(barrier);
  }

  private confirmBeat(seq: number): void {
    const beat = this.beatsInFlight.get(seq);
    for (const key of this.beatsInFlight.keys()) if (key <= seq) this.beatsInFlight.delete(key);
    // A beat sent while disconnected wrote listening = false: other instances' barriers do not
    // wait for this one on its strength, so it must not make this instance trust its cache.
    if (!beat?.listening || !this.connected) return;
    if (!this.trusted) {
      // Coming back from a stale spell: whatever was cached before it is suspect.
      for (const s of this.subscribers) s.onGap();
      this.logger.info("change feed trusted again");
    }
    this.confirmedSentAt = Math.max(this.confirmedSentAt, beat.sentAt);
    this.trusted = this.isFresh();
    if (this.trusted) this.lastGoodAt = performance.now();
  }

  private tick(): void {
    const now = performance.now();
    if (this.trusted && !this.isFresh(now)) {
      this.logger.warn({ staleAfterMs: this.timing.staleAfterMs }, "change feed silent: git auth reads the database until it is back");
      this.loseTrust();
      // Open, but delivering nothing (a partition, a NAT timeout, a hung server): replace it.
      if (this.connected) this.listener?.reconnect();
    } else if (this.trusted) {
      this.lastGoodAt = now;
    } else if (this.connected && now - this.lastGoodAt > 4 * this.timing.staleAfterMs) {
      // A replacement that is silent too (or heartbeats that cannot be sent): try again.
      this.lastGoodAt = now;
      this.listener?.reconnect();
    }
    this.beat();
  }

  private loseTrust(): void {
    this.trusted = false;
    this.confirmedSentAt = Number.NEGATIVE_INFINITY;
    for (const s of this.subscribers) s.onGap();
  }

  /** Logged once when heartbeats start failing, then every minute while they do. */
  private noteBeatFailure(error: unknown): void {
    const now = performance.now();
    if (this.failingSince === undefined || now - this.failingSince > 60_000) {
      this.failingSince = now;
      this.logger.warn({ err: error }, "heartbeat failed: git auth reads the database until heartbeats come back");
    }
  }

  private beat(): void {
    // One at a time: a database that hangs must not pile heartbeats up in the pool.
    if (this.beating || this.stopped) return;
    this.beating = true;
    const seq = ++this.beatSeq;
    const listening = this.connected;
    this.beatsInFlight.set(seq, { sentAt: performance.now(), listening });
    if (this.beatsInFlight.size > 1000) this.beatsInFlight.delete(this.beatsInFlight.keys().next().value as number);
    // A deadline, so a statement stuck on a hung connection cannot stop the heartbeat for good.
    beatAndNotify(this.db, this.instanceId, listening, INSTANCE_CHANNEL, `beat ${this.instanceId} ${seq}`, 2 * this.timing.staleAfterMs)
      .then(
        () => (this.failingSince = undefined),
        (error: unknown) => this.noteBeatFailure(error),
      )
      .finally(() => (this.beating = false));
  }
}
