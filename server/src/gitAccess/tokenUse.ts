import type { Knex } from "knex";
import type { Logger } from "pino";
import { touchTokenUses, type TokenUse } from "../repositories/gitAuth";

const RECORD_INTERVAL_MS = 60_000;
const BATCH_DELAY_MS = 200;
const MAX_BATCH = 1000;

/**
 * last_used_at / last_used_ip, written off the request path: at most once a minute per token,
 * and the tokens used within a short window together in one statement, so a busy instance
 * makes a handful of writes a minute instead of one per token.
 */
export class TokenUseRecorder {
  private readonly lastRecorded = new Map<number, number>();
  private pending = new Map<number, TokenUse>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
  ) {}

  record(id: number, ip: string | null): void {
    const now = Date.now();
    if (now - (this.lastRecorded.get(id) ?? 0) < RECORD_INTERVAL_MS) return;
    if (this.lastRecorded.size >= 100_000) this.lastRecorded.clear();
    this.lastRecorded.set(id, now);
    this.pending.set(id, { id, ip, at: new Date(now) });
    this.timer ??= setTimeout(() => void this.flush(), BATCH_DELAY_MS);
  }

  /** Writes what is pending; resolves once it is written (or the failure logged). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const uses = [...this.pending.values()];
    this.pending = new Map();
    // One write at a time, in order: a later stamp never lands before an earlier one.
    this.writing = this.writing.then(async () => {
      for (let i = 0; i < uses.length; i += MAX_BATCH) {
        const batch = uses.slice(i, i + MAX_BATCH);
        try {
          await touchTokenUses(this.db, batch);
        } catch (error) {
          // Last-use stamps must never fail a clone; a lost stamp is rewritten on the next use.
          for (const use of batch) this.lastRecorded.delete(use.id);
          this.logger.warn({ err: error, tokens: batch.length }, "could not record token use");
        }
      }
    });
    return this.writing;
  }
}
