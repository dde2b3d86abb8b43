import fs from "node:fs";
import path from "node:path";
import knexFactory, { type Knex } from "knex";
import pg from "pg";
import ClientPgLite from "knex-pglite";
import { types as pgliteTypes, type PGlite } from "@electric-sql/pglite";
import type { Logger } from "pino";
import type { Config } from "../config";
import { listenPglite, listenPostgres, type Listener, type NotificationHandlers } from "./listener";
import { migrationSource } from "./migrations";
import { openPglite } from "./pglite";
import { DatabaseAvailability } from "./unavailable";

export type Db = Knex;
export type DbKind = "postgres" | "pglite";

// int8 (counts, bigserial ids) must reach the API as numbers, never as strings or BigInt.
const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);

export interface Database {
  knex: Knex;
  kind: DbKind;
  /** Whether the database answers right now; logs when that changes. */
  availability: DatabaseAvailability;
  /** LISTEN to channels; notifications arrive when the notifying transaction commits. */
  listen(channels: string[], handlers: NotificationHandlers): Promise<Listener>;
  close(): Promise<void>;
}

/** Real Postgres when `databaseUrl` is set; otherwise embedded PGlite under `dataDir/pg`. Runs migrations. */
export async function createDb(config: Pick<Config, "databaseUrl" | "dataDir">, logger?: Logger): Promise<Database> {
  const { databaseUrl } = config;
  const availability = new DatabaseAvailability(logger);
  if (databaseUrl) {
    // Migrations on a pool of their own, without the service's statement deadline: one may
    // rightly take longer (an index on a large table).
    const migrator = postgresKnex(databaseUrl, logger);
    try {
      await migrator.migrate.latest({ migrationSource });
    } finally {
      await migrator.destroy();
    }
    const knex = watchAvailability(postgresKnex(databaseUrl, logger, QUERY_TIMEOUT_MS), availability);
    return {
      knex,
      kind: "postgres",
      availability,
      listen: (channels, handlers) => listenPostgres(databaseUrl, channels, handlers),
      close: () => knex.destroy(),
    };
  }
  const directory = path.join(config.dataDir, "pg");
  fs.mkdirSync(directory, { recursive: true });
  const unlock = lockDataDirectory(directory);
  try {
    const pglite = await openPglite(directory, { [pgliteTypes.INT8]: parseInt8 });
    const knex = watchAvailability(pgliteKnex(pglite), availability);
    await knex.migrate.latest({ migrationSource });
    return {
      knex,
      kind: "pglite",
      availability,
      listen: (channels, handlers) => listenPglite(pglite, channels, handlers),
      close: () => knex.destroy().finally(unlock),
    };
  } catch (error) {
    unlock();
    throw error;
  }
}

/**
 * PGlite is a database inside this process: a second process on the same folder would run a
 * second database over the same files (diverging, and revocations never crossing). Refused.
 */
function lockDataDirectory(directory: string): () => void {
  const lockPath = `${directory}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number(fs.readFileSync(lockPath, "utf8"));
    if (Number.isInteger(owner) && owner > 0 && isRunning(owner)) {
      throw new Error(
        `The embedded database in ${directory} is in use by process ${owner}. Stop it first; several instances need a shared Postgres (DATABASE_URL).`,
      );
    }
    fs.rmSync(lockPath, { force: true }); // left by a process that is gone
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Every statement's outcome and every failed new connection tell `availability` whether the database answers. */
function watchAvailability(knex: Knex, availability: DatabaseAvailability): Knex {
  knex.on("query-response", () => availability.answered());
  knex.on("query-error", (error: unknown) => availability.failed(error));
  const pool = (knex.client as { pool?: { on(event: "createFail", listener: (id: number, error: unknown) => void): void } }).pool;
  pool?.on("createFail", (_id, error) => availability.failed(error));
  return knex;
}

/**
 * Knex writes its own warnings to the console; the ones about connections ("Acquire
 * connection error", "Connection Error") come once per request during an outage, which
 * DatabaseAvailability reports once instead.
 */
function knexLog(logger: Logger | undefined): Knex.Logger {
  const connectionNoise = /^(Acquire connection error|Connection Error)/;
  return {
    warn: (message: unknown) => {
      if (typeof message === "string" && connectionNoise.test(message)) logger?.debug({ knex: message.split("\n")[0] }, "knex");
      else logger?.warn({ knex: message }, "knex");
    },
    error: (message: unknown) => logger?.error({ knex: message }, "knex"),
    deprecate: (method: string, alternative: string) => logger?.warn({ knex: { method, alternative } }, "knex deprecation"),
    debug: () => undefined,
  };
}

/**
 * The longest the service waits for one statement's answer. The service's statements take
 * milliseconds; without a deadline, a server that hangs (or a network path that drops
 * packets) would hold every request that reaches the database, git's included, for ever.
 */
const QUERY_TIMEOUT_MS = 15_000;

function postgresKnex(connectionString: string, logger: Logger | undefined, queryTimeoutMs?: number): Knex {
  return knexFactory({
    client: "pg",
    log: knexLog(logger),
    // A request waits at most 10 s for a pooled connection; TCP keepalive finds dead peers.
    acquireConnectionTimeout: 10_000,
    connection: {
      connectionString,
      keepAlive: true,
      // A server that takes the connection but never answers (shutting down, overloaded, a
      // half-open network path) fails a new connection after 5 s, well inside the acquire wait.
      connectionTimeoutMillis: 5000,
      ...(queryTimeoutMs !== undefined && { query_timeout: queryTimeoutMs }),
      types: {
        getTypeParser: (oid: number, format: string) =>
          oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser(oid, format as "text") as (value: string) => unknown),
      },
    },
    pool: { min: 0, max: 10 },
  });
}

function pgliteKnex(pglite: PGlite): Knex {
  return knexFactory({
    client: ClientPgLite,
    dialect: "postgres",
    connection: () => ({ pglite }) as object,
  } as Knex.Config);
}
