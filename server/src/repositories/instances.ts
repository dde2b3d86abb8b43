import type { Queryable } from "./types";

/**
 * Records this instance's heartbeat and sends `payload` on `channel` in the same statement,
 * so the notification is committed together with the row it vouches for. Re-creates the row
 * when another instance pruned it while this one was away.
 */
export async function beatAndNotify(
  db: Queryable,
  instanceId: string,
  listening: boolean,
  channel: string,
  payload: string,
  timeoutMs: number,
): Promise<void> {
  await db
    .raw(
      `INSERT INTO service_instances AS i (id, heartbeat_at, listening) VALUES (?, now(), ?)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), listening = excluded.listening
     RETURNING pg_notify(?, ?)`,
      [instanceId, listening, channel, payload],
    )
    .timeout(timeoutMs);
}

/**
 * Sends `payload` on `channel` and returns, from the same snapshot, the instances whose
 * listener was up at a heartbeat within `liveSeconds`.
 */
export async function notifyAndListLive(
  db: Queryable,
  channel: string,
  payload: string,
  liveSeconds: number,
  timeoutMs: number,
): Promise<string[]> {
  const result = await db
    .raw<{ rows: { live: string[] }[] }>(
      `SELECT pg_notify(?, ?) AS sent,
       coalesce((SELECT array_agg(id) FROM service_instances
                 WHERE listening AND heartbeat_at > now() - make_interval(secs => ?)), '{}') AS live`,
      [channel, payload, liveSeconds],
    )
    .timeout(timeoutMs);
  return result.rows[0]?.live ?? [];
}

export async function notify(db: Queryable, channel: string, payload: string): Promise<void> {
  await db.raw("SELECT pg_notify(?, ?)", [channel, payload]);
}

export async function removeInstance(db: Queryable, instanceId: string): Promise<void> {
  await db("service_instances").where({ id: instanceId }).delete();
}

/** Forgets instances that stopped without saying so (killed, or their machine gone). */
export async function pruneDeadInstances(db: Queryable, deadAfterSeconds: number): Promise<void> {
  await db("service_instances")
    .where("heartbeat_at", "<", db.raw("now() - make_interval(secs => ?)", [deadAfterSeconds]))
    .delete();
}
