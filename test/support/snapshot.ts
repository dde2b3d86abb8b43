import type { Knex } from "knex";

const TABLES = [
  "users",
  "api_keys",
  "projects",
  "repositories",
  "memberships",
  "git_settings",
  "personal_access_tokens",
  "personal_access_token_repositories",
  "audit_events",
];

/**
 * Every row of every table, for "bad input changes nothing" checks. Last-use stamps (API
 * keys', tokens') are left out: authenticating a refused request may legitimately touch an
 * API key's, and a token's is written in the background (batched) after an earlier success —
 * and with it the audit event of a first use from a new address (token.used_from_new_ip).
 */
export async function snapshotDatabase(knex: Knex): Promise<string> {
  const parts: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    const query = knex(table).select("*").orderByRaw("1");
    const rows = await (table === "audit_events" ? query.whereNot("action", "token.used_from_new_ip") : query);
    parts[table] = rows.map((row: Record<string, unknown>) => {
      const { last_used_at: _at, last_used_ip: _ip, ...rest } = row;
      return table === "api_keys" || table === "personal_access_tokens" ? rest : row;
    });
  }
  return JSON.stringify(parts);
}
