import type http from "node:http";
import type https from "node:https";
import { StartupError } from "./config";

/**
 * Listens, or throws a StartupError with one line an operator can act on: a busy or forbidden
 * port is found before anything else happens (before the first admin's password is printed).
 */
export function listenOrExplain(server: http.Server | https.Server, port: number, host: string, variable: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(explainListenError(error, port, host, variable));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function explainListenError(error: NodeJS.ErrnoException, port: number, host: string, variable: string): Error {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (error.code) {
    case "EADDRINUSE":
      return new StartupError(
        `Cannot listen on ${where} (${variable}): the port is already in use (EADDRINUSE). Stop the other process or choose another ${variable}.`,
      );
    case "EACCES":
      return new StartupError(
        `Cannot listen on ${where} (${variable}): permission denied (EACCES). Ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port of 1024 or more, or put a proxy in front.`,
      );
    case "EADDRNOTAVAIL":
      return new StartupError(`Cannot listen on ${where}: ${host} is not an address of this machine (EADDRNOTAVAIL). Check HOST.`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new StartupError(`Cannot listen on ${where}: the host name ${host} does not resolve (${error.code}). Check HOST.`);
    default:
      return error;
  }
}

const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ECONNRESET: "connection reset",
  "28P01": "password authentication failed",
  "28000": "access refused by the server (pg_hba.conf)",
  "3D000": "the database does not exist",
  "57P03": "the server is starting up or shutting down",
};

/** The reason a database could not be reached at all, or undefined for any other failure (a migration's SQL). */
function unreachableReason(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, name, errors } = error as { code?: unknown; name?: unknown; errors?: unknown };
  if (typeof code === "string" && UNREACHABLE_CODES[code]) return `${UNREACHABLE_CODES[code]} (${code})`;
  if (name === "KnexTimeoutError") return "no connection within 10 s";
  // Several addresses tried (localhost: ::1 and 127.0.0.1): AggregateError.
  if (Array.isArray(errors)) for (const inner of errors as unknown[]) if (unreachableReason(inner)) return unreachableReason(inner);
  return undefined;
}

/** DATABASE_URL without its password: safe to print. */
export function redactDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = "***";
    url.search = "";
    return url.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/** A StartupError in one line when DATABASE_URL cannot be reached; other failures unchanged. */
export function explainDatabaseError(error: unknown, databaseUrl: string | undefined): unknown {
  const reason = databaseUrl === undefined ? undefined : unreachableReason(error);
  if (reason === undefined || databaseUrl === undefined) return error;
  return new StartupError(
    `Cannot reach the database at ${redactDatabaseUrl(databaseUrl)} (DATABASE_URL): ${reason}. Check DATABASE_URL and that Postgres is running.`,
  );
}
