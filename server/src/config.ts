import path from "node:path";
import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  REPOS_DIR: z.string().min(1).optional(),
  PUBLIC_URL: z.string().url("must be an absolute URL such as https://git.example.com").optional(),
  ADMIN_PASSWORD: z.string().min(8, "must be at least 8 characters").optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  TRUST_PROXY: z.enum(["true", "false"], "must be true or false").default("false"),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  HTTP_REDIRECT_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_PORT: z.coerce.number("must be a port number (0-65535)").int("must be a whole port number").min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT: z.coerce
    .number("must be a number of seconds, such as 30")
    .min(0, "must be a number of seconds, such as 30")
    .max(3600, "must be at most 3600 seconds")
    .default(30),
});

/** A certificate (PEM, the server's first, then any intermediates) and its private key (PEM). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface Config {
  port: number;
  host: string;
  /** Real Postgres when set; embedded PGlite under `dataDir/pg` otherwise. */
  databaseUrl: string | undefined;
  dataDir: string;
  reposDir: string;
  /** Base of clone URLs, without a trailing slash; when unset, the address the service listens on. */
  publicUrl: string | undefined;
  adminPassword: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Behind a reverse proxy: take the client's address from X-Forwarded-For. */
  trustProxy: boolean;
  /** Native TLS: the service listens with HTTPS. Read at start and on SIGHUP (http/tls.ts). */
  tls: TlsFiles | undefined;
  /** With TLS: a plain-HTTP port that sends browsers to https and refuses git and the API. */
  httpRedirectPort: number | undefined;
  /**
   * /metrics on its own listener (METRICS_HOST, default HOST) instead of the service's port,
   * so it can be kept off the network the service answers on.
   */
  metrics: { port: number; host: string } | undefined;
  /** On SIGTERM, how long running requests (clones, pushes) may take to finish before they are cut. */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {}

/**
 * The environment is wrong in a way only starting shows (the port is taken, the database
 * cannot be reached): one line for the operator, no stack.
 */
export class StartupError extends Error {}

/** Parses the environment once; throws a ConfigError naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings in the environment mean "not set", as in most twelve-factor apps.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  // Variables that only make sense together. A certificate without its key (or the reverse) is a
  // half-done set-up: never fall back to plain HTTP.
  const combinationProblems = [
    ...(e.TLS_CERT_FILE && !e.TLS_KEY_FILE ? ["  TLS_KEY_FILE: must be set too when TLS_CERT_FILE is (both or neither)"] : []),
    ...(e.TLS_KEY_FILE && !e.TLS_CERT_FILE ? ["  TLS_CERT_FILE: must be set too when TLS_KEY_FILE is (both or neither)"] : []),
    ...(e.HTTP_REDIRECT_PORT !== undefined && !e.TLS_CERT_FILE && !e.TLS_KEY_FILE
      ? ["  HTTP_REDIRECT_PORT: needs TLS_CERT_FILE and TLS_KEY_FILE (it redirects to the service's https port)"]
      : []),
    ...(e.METRICS_HOST !== undefined && e.METRICS_PORT === undefined
      ? ["  METRICS_HOST: needs METRICS_PORT (the port of the metrics listener)"]
      : []),
    ...(e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && (e.METRICS_PORT === e.PORT || e.METRICS_PORT === e.HTTP_REDIRECT_PORT)
      ? ["  METRICS_PORT: must differ from PORT and HTTP_REDIRECT_PORT"]
      : []),
  ];
  if (combinationProblems.length > 0) throw new ConfigError(`Invalid configuration:\n${combinationProblems.join("\n")}`);
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    reposDir: path.resolve(e.REPOS_DIR ?? path.join(dataDir, "repos")),
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ""),
    adminPassword: e.ADMIN_PASSWORD,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY === "true",
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: path.resolve(e.TLS_CERT_FILE), keyFile: path.resolve(e.TLS_KEY_FILE) } : undefined,
    httpRedirectPort: e.HTTP_REDIRECT_PORT,
    metrics: e.METRICS_PORT === undefined ? undefined : { port: e.METRICS_PORT, host: e.METRICS_HOST ?? e.HOST },
    shutdownTimeoutMs: Math.round(e.SHUTDOWN_TIMEOUT * 1000),
  };
}

/**
 * The configuration once the service listens: the public URL is then always known (PUBLIC_URL,
 * else the address it listens on). `publicUrlIsExplicit` says PUBLIC_URL was set, which then
 * wins over anything a proxy forwards (http/publicUrl.ts).
 */
export type ServiceConfig = Config & { publicUrl: string; publicUrlIsExplicit: boolean };
