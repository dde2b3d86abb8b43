import fs from "node:fs";
import path from "node:path";
import knexFactory, { type Knex } from "knex";
import pg from "pg";
import ClientPgLite from "knex-pglite";
import { PGlite, types as pgliteTypes } from "@electric-sql/pglite";
import type { Config } from "../config";
import { migrationSource } from "./migrations";

export type Db = Knex;
export type DbKind = "postgres" | "pglite";

// int8 (counts, bigserial ids) must reach the API as numbers, never as strings or BigInt.
const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);

export interface Database {
  knex: Knex;
  kind: DbKind;
  close(): Promise<void>;
}

/** Real Postgres when `databaseUrl` is set; otherwise embedded PGlite under `dataDir/pg`. Runs migrations. */
export async function createDb(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Database> {
  const knex = config.databaseUrl ? postgresKnex(config.databaseUrl) : pgliteKnex(path.join(config.dataDir, "pg"));
  await knex.migrate.latest({ migrationSource });
  return {
    knex,
    kind: config.databaseUrl ? "postgres" : "pglite",
    close: () => knex.destroy(),
  };
}

function postgresKnex(connectionString: string): Knex {
  return knexFactory({
    client: "pg",
    connection: {
      connectionString,
      types: {
        getTypeParser: (oid: number, format: string) =>
          oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text"),
      },
    },
    pool: { min: 0, max: 10 },
  });
}

function pgliteKnex(directory: string): Knex {
  fs.mkdirSync(directory, { recursive: true });
  const pglite = new PGlite(directory, { parsers: { [pgliteTypes.INT8]: parseInt8 } });
  return knexFactory({
    client: ClientPgLite,
    dialect: "postgres",
    connection: () => ({ pglite }) as object,
  } as Knex.Config);
}
