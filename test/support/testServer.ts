import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import knexFactory, { type Knex } from "knex";
import pino from "pino";
import { parseConfig } from "../../server/src/config";
import { createLogger } from "../../server/src/logger";
import { createDb } from "../../server/src/db";
import { startServer, type RunningServer } from "../../server/src/server";
import { DEFAULT_THROTTLE, type ThrottlePolicy } from "../../server/src/gitAccess";
import type { Clock } from "../../server/src/lib/clock";
import type { TestCertificates } from "./tls";

/** Suites that fail logins on purpose would trip the real limit; the throttle suite uses DEFAULT_THROTTLE. */
export const RELAXED_THROTTLE: ThrottlePolicy = { ...DEFAULT_THROTTLE, maxFailures: 1000 };
export { DEFAULT_THROTTLE };

/**
 * Which database the server suites run on: `TEST_DB=postgres` with `TEST_PG_ADMIN_URL`
 * (set by test/run-all.ts, which starts a real cluster), else embedded PGlite.
 */
export const TEST_DB = process.env.TEST_DB === "postgres" ? "postgres" : "pglite";
export const ADMIN_PASSWORD = "admin-password-for-tests";

let pgliteTemplate: Promise<string> | undefined;

/** Creating a PGlite cluster takes seconds; each test server copies one migrated template instead. */
export function migratedPgliteTemplate(): Promise<string> {
  pgliteTemplate ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-pglite-template-"));
    const db = await createDb({ databaseUrl: undefined, dataDir: dir });
    await db.close();
    return path.join(dir, "pg");
  })();
  return pgliteTemplate;
}

async function freshPostgresDatabase(): Promise<string> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  if (!adminUrl) throw new Error("TEST_DB=postgres needs TEST_PG_ADMIN_URL (npm test sets both)");
  const name = `clarive_test_${randomBytes(6).toString("hex")}`;
  const admin = knexFactory({ client: "pg", connection: adminUrl });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestServer extends RunningServer {
  knex: Knex;
  dataDir: string;
  /** The environment git needs for this server: `GIT_SSL_CAINFO` (the test CA) with `tls`, else nothing. */
  gitEnv: Record<string, string>;
}

export interface TestServerOptions {
  /** Share a database with another test server (a second instance of the service). */
  databaseUrl?: string;
  env?: Record<string, string>;
  /** Failed-login throttling; tests that fail on purpose raise the limit so they do not trip it. */
  throttle?: ThrottlePolicy;
  /** Receives the service's log lines (JSON), e.g. to check that no secret is logged. */
  logLines?: string[];
  /** The service's time, for tests that move it (MovableClock) instead of sleeping. */
  clock?: Clock;
  /**
   * Serve https with these certificates (createTestCertificates() in ./tls): TLS_CERT_FILE is
   * the chain (server certificate + CA), TLS_KEY_FILE the server key; `url` is then https://127.0.0.1:port.
   */
  tls?: TestCertificates;
}

/** A real service on a loopback port with its own fresh database and data folder. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-test-"));
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl && TEST_DB === "postgres") databaseUrl = await freshPostgresDatabase();
  if (!databaseUrl) fs.cpSync(await migratedPgliteTemplate(), path.join(dataDir, "pg"), { recursive: true });
  const config = parseConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    ADMIN_PASSWORD,
    LOG_LEVEL: "silent",
    ...(databaseUrl && { DATABASE_URL: databaseUrl }),
    ...(options.tls && { TLS_CERT_FILE: options.tls.chain, TLS_KEY_FILE: options.tls.serverKey }),
    ...options.env,
  });
  const logLines = options.logLines;
  const logger = logLines
    ? createLogger({ logLevel: "debug" }, { write: (line: string) => void logLines.push(line) })
    : pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  let running: RunningServer;
  try {
    running = await startServer(config, logger, {
      throttle: options.throttle ?? RELAXED_THROTTLE,
      ...(options.clock && { clock: options.clock }),
    });
  } catch (error) {
    // Tests of refused starts (a bad certificate) leave no folder behind.
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...running,
    knex: running.database.knex,
    dataDir,
    gitEnv: options.tls ? { GIT_SSL_CAINFO: options.tls.caCert } : {},
    close: async () => {
      await running.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A clock that runs with real time from an offset a test can move forward. */
export class MovableClock implements Clock {
  private offsetMs = 0;
  now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
