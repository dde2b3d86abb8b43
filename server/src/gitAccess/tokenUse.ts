import type { Knex } from "knex";
import type { Logger } from "pino";
import { touchTokenUses, type NewTokenAddress, type TokenUse } from "../repositories/gitAuth";
import { audit } from "../services/audit";

const RECORD_INTERVAL_MS = 60_000;
const BATCH_DELAY_MS = 200;
const MAX_BATCH = 1000;
/** Token and address pairs whose last stamp is remembered, at most (then forgotten, and stamped again on their next use). */
const MAX_REMEMBERED = 100_000;

/**
 * last_used_at / last_used_ip and the last distinct addresses (recentIps), written off the
 * request path: at most once a minute per token and address, and the uses within a short
 * window together in a few statements, so a busy instance makes a handful of writes a minute
 * instead of one per request. An address new to a token writes `token.used_from_new_ip`.
 */
export class TokenUseRecorder {
  /**
   * By token id, then address ("" for none): a use from a second address is not held back by
   * the first's stamp. Two lookups rather than a combined key: this runs on every git request.
   */
  private readonly lastRecorded = new Map<number, Map<string, number>>();
  private recordedCount = 0;
  private pending = new Map<string, TokenUse>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
  ) {}

  record(id: number, ip: string | null): void {
    const now = Date.now();
    const address = ip ?? "";
    let byAddress = this.lastRecorded.get(id);
    const last = byAddress?.get(address);
    if (last !== undefined && now - last < RECORD_INTERVAL_MS) return;
    if (this.recordedCount >= MAX_REMEMBERED) {
      this.lastRecorded.clear();
      this.recordedCount = 0;
      byAddress = undefined;
    }
    if (!byAddress) this.lastRecorded.set(id, (byAddress = new Map<string, number>()));
    // An upper bound (a failed write's forgotten stamps are not taken off): it only bounds memory.
    if (!byAddress.has(address)) this.recordedCount++;
    byAddress.set(address, now);
    this.pending.set(`${id} ${address}`, { id, ip, at: new Date(now) });
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
          await this.db.transaction(async (trx) => {
            const fresh = await touchTokenUses(trx, batch);
            for (const address of fresh) await auditNewAddress(trx, address);
          });
        } catch (error) {
          // Last-use stamps must never fail a clone; a lost stamp is rewritten on the next use.
          for (const use of batch) this.lastRecorded.get(use.id)?.delete(use.ip ?? "");
          this.logger.warn({ err: error, tokens: batch.length }, "could not record token use");
        }
      }
    });
    return this.writing;
  }
}

/** The owner is the actor (it was their token), the address the event's. */
const auditNewAddress = (db: Knex.Transaction, address: NewTokenAddress): Promise<void> =>
  audit(db, { id: address.user_id, username: address.username }, "token.used_from_new_ip", `token:${address.token_id}`, { ip: address.ip });
