import type { Knex } from "knex";
import { migrationSource } from "./migrations";

export type DatabaseState = "ready" | "unreachable" | "not_migrated";

/**
 * Whether the database answers and holds every migration this code knows, in one round trip
 * (for GET /readyz). Never rejects: a database that cannot be asked is "unreachable".
 */
export async function databaseState(knex: Knex): Promise<DatabaseState> {
  let known: string[];
  let applied: number;
  try {
    known = await migrationSource.getMigrations([]);
    const rows = await knex("knex_migrations").whereIn("name", known).countDistinct<{ count: number | string }[]>("name as count");
    applied = Number(rows[0]?.count ?? 0);
  } catch (error) {
    // A reachable database without the migrations table has never been migrated.
    return (error as { code?: string }).code === "42P01" ? "not_migrated" : "unreachable";
  }
  return applied === known.length ? "ready" : "not_migrated";
}
