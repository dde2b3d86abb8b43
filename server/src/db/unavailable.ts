import type { Logger } from "pino";

/** What a client is told to wait (Retry-After) when the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The socket could not be opened or was cut (node's codes; pg passes them through). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server that is going away or not taking work: class 08 (connection
 * exception) is matched by its prefix; 57P01 admin_shutdown (also pg_terminate_backend),
 * 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down, recovering),
 * 53300 too_many_connections, 25006 read_only_sql_transaction (a standby that was promoted
 * to answer, or a primary demoted during a failover).
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "25006"]);

/**
 * pg reports a connection that ended without an SQLSTATE in words (knex prefixes the
 * statement: "select … - Connection terminated unexpectedly"), and so its own deadlines (a
 * connection not answered in time, a statement not answered within query_timeout); PGlite
 * once close() has begun. pg's connect deadline has two wordings, depending on which of the
 * socket's events comes first: "Connection terminated due to connection timeout", or the bare
 * "timeout expired" it destroys the socket with (a server that accepts the TCP connection but
 * never answers the startup message, e.g. a frozen one).
 */
const MESSAGES =
  /Connection terminated|Connection ended unexpectedly|encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|(?:^| - )timeout expired$|Query read timeout|PGlite is clos(?:ed|ing)/;

/**
 * Thrown instead of asking a database known to be unreachable (DatabaseAvailability.assertReachable):
 * refused at once rather than after the connect or statement deadline.
 */
export class DatabaseUnreachableError extends Error {
  constructor() {
    super("the database has been unreachable for a while; not asking it again until it answers");
    this.name = "DatabaseUnreachableError";
  }
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Whether an error means "the database cannot be reached right now" (so: 503, try again),
 * rather than a fault in a statement. The one place such errors are recognised, for REST,
 * git and the auth hook alike. Looks through `cause` (knex's acquire timeout wraps tarn's)
 * and AggregateError (a host name with several addresses, each refused).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 4 || typeof error !== "object" || error === null) return false;
  const e = error as ErrorLike;
  // Every pooled connection busy for acquireConnectionTimeout: a database that hangs.
  if (e.name === "KnexTimeoutError" || error instanceof DatabaseUnreachableError) return true;
  if (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === "string" && MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/** The reason worth logging: the code, and pg's words without the statement knex puts in front. */
function reasonOf(error: unknown): { code?: string; message?: string } {
  const e = error as ErrorLike;
  const message = typeof e.message === "string" ? e.message.slice(e.message.lastIndexOf(" - ") + 1).trim() : undefined;
  return { ...(typeof e.code === "string" && { code: e.code }), ...(message && { message: message.slice(0, 200) }) };
}

/**
 * Whether the database answers, as the statements that run through the pool find out (the
 * change feed's heartbeat runs one every 200 ms, so the state follows within a fraction of a
 * second even without traffic). Logs once per change of state, never per request: during
 * an outage every request fails the same way, and its own log line says so.
 */
export class DatabaseAvailability {
  private unreachableSince: number | undefined;

  constructor(private readonly logger?: Logger) {}

  get reachable(): boolean {
    return this.unreachableSince === undefined;
  }

  /**
   * Throws DatabaseUnreachableError when nothing has answered for `graceMs`: a request that
   * needs the database is refused at once instead of waiting out the connect and statement
   * deadlines (a hung server) and piling up on the pool. The heartbeat goes on asking through
   * the pool, so the first answer ends it. A blip (one connection cut, the next statement fine)
   * never lasts that long.
   */
  assertReachable(graceMs = 1000): void {
    if (this.unreachableSince !== undefined && performance.now() - this.unreachableSince > graceMs) throw new DatabaseUnreachableError();
  }

  /** A statement or a new connection failed; only failures that mean "unreachable" count. */
  failed(error: unknown): void {
    if (this.unreachableSince !== undefined || !isDatabaseUnavailable(error)) return;
    this.unreachableSince = performance.now();
    this.logger?.warn(
      { reason: reasonOf(error) },
      "database unreachable: REST answers 503 database_unavailable and git is refused until it is back",
    );
  }

  /** A statement succeeded. */
  answered(): void {
    if (this.unreachableSince === undefined) return;
    const seconds = Math.round((performance.now() - this.unreachableSince) / 100) / 10;
    this.unreachableSince = undefined;
    this.logger?.info({ unreachableForSeconds: seconds }, "database reachable again");
  }
}
