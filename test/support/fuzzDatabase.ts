import type { Knex } from "knex";

/** Every table of the service's schema (migrations' own included), in name order. */
export async function listTables(knex: Knex): Promise<string[]> {
  const rows: { table_name: string }[] = await knex("information_schema.tables")
    .where({ table_schema: knex.raw("current_schema()"), table_type: "BASE TABLE" })
    .orderBy("table_name")
    .select("table_name");
  return rows.map((row) => row.table_name);
}

/** Every row of every table, for dumps that must be complete (scanning for secrets). */
export async function dumpAllTables(knex: Knex): Promise<Record<string, Record<string, unknown>[]>> {
  const dump: Record<string, Record<string, unknown>[]> = {};
  for (const table of await listTables(knex)) dump[table] = await knex(table).select("*").orderByRaw("1");
  return dump;
}

/**
 * Tables whose rows change without any request changing data: each instance's heartbeat,
 * failed-login and report counters (which refused requests are meant to write), the audit
 * trail (compared row by row instead), and tokens' recent addresses (written in the background
 * after successful uses, like last-use stamps).
 */
const MOVING_TABLES = new Set(["service_instances", "auth_throttle", "audit_events", "knex_migrations_lock", "personal_access_token_ips"]);

/**
 * The data a refused request must not change: every other table, every row, without the
 * last-use stamps a successful authentication writes (in the background, after an earlier success).
 */
export async function stableState(knex: Knex): Promise<string> {
  const parts: Record<string, unknown[]> = {};
  for (const table of await listTables(knex)) {
    if (MOVING_TABLES.has(table)) continue;
    const rows: Record<string, unknown>[] = await knex(table).select("*").orderByRaw("1");
    parts[table] = rows.map(({ last_used_at: _at, last_used_ip: _ip, ...rest }) => rest);
  }
  return JSON.stringify(parts);
}

/** The id of the newest audit event (0 when none), a watermark for `auditSince`. */
export async function lastAuditId(knex: Knex): Promise<number> {
  const row = (await knex("audit_events").max("id as id").first()) as { id: number | string | null } | undefined;
  return Number(row?.id ?? 0);
}

export async function auditSince(knex: Knex, id: number): Promise<{ id: number; action: string }[]> {
  return knex("audit_events").where("id", ">", id).orderBy("id").select("id", "action");
}
