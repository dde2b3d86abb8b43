import type { Knex } from "knex";
import { clearAuthFailures, recordAuthFailure, type ThrottleRow } from "../repositories/gitAuth";
import type { MaybePromise } from "../lib/maybeAsync";
import { keysClearedBySuccess, limitOf, type ThrottlePolicy, type ThrottleState } from "./throttlePolicy";
import type { FactCache } from "./factCache";

export { DEFAULT_THROTTLE, type ThrottlePolicy } from "./throttlePolicy";

/** Reading and counting failed logins on this instance (its mirror of the counters is kept current). */
export class LoginThrottle {
  constructor(
    private readonly db: Knex,
    private readonly cache: FactCache,
    readonly policy: ThrottlePolicy,
  ) {}

  states(keys: string[]): MaybePromise<ThrottleState[]> {
    return this.cache.throttleStates(keys);
  }

  /** Counts one failure on each key, in the caller's transaction; `noteCounted` afterwards, once it committed. */
  async count(trx: Knex.Transaction, keys: string[]): Promise<ThrottleRow[]> {
    const { windowSeconds, cooldownSeconds } = this.policy;
    const rows: ThrottleRow[] = [];
    for (const key of keys) rows.push(await recordAuthFailure(trx, key, limitOf(this.policy, key), windowSeconds, cooldownSeconds));
    return rows;
  }

  /** This instance's own counts, applied at once: the client's next request must already see a block. */
  noteCounted(rows: ThrottleRow[]): void {
    for (const row of rows) this.cache.noteThrottle(row);
  }

  /** After a success: forgets the username's counter at that address, if it had one. */
  async succeeded(keys: string[], states: ThrottleState[] | undefined): Promise<void> {
    // Only costs a write when there is something to reset.
    if (!states?.length) return;
    const cleared = keysClearedBySuccess(keys);
    if (cleared.length === 0) return;
    await clearAuthFailures(this.db, cleared);
    this.cache.forgetThrottles(cleared);
  }
}
