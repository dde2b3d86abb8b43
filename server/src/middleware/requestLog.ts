import type { ServerResponse } from "node:http";
import { redactSecrets } from "@clarive/shared";
import type { Middleware } from "koa";
import type { Logger } from "pino";
import { isoTimeNow, ownDestination } from "../logger";

export interface RequestLogFields {
  method: string;
  path: string;
  ip: string;
  user: string | null;
  error: string | null;
}

export interface RequestLogEntry extends RequestLogFields {
  status: number;
  ms: number;
  aborted?: true;
}

const INFO = 30;

/**
 * The line pino writes for `logger.info(entry)` from createLogger's logger, formatted
 * directly: a proxy calls the auth hook before every git request, and pino's generic
 * serializer cost that path a tenth of its throughput (bench/README.md). Strings go through
 * JSON.stringify, so any client-supplied text (a forwarded address) is escaped as pino would.
 */
export function formatRequestLine(entry: RequestLogEntry, time: string): string {
  const { method, path, status, ms, ip, user, error } = entry;
  return (
    `{"level":${INFO},"time":"${time}","method":${JSON.stringify(method)},"path":${JSON.stringify(path)},` +
    `"status":${status},"ms":${JSON.stringify(ms)},"ip":${JSON.stringify(ip)},"user":${JSON.stringify(user)},` +
    `"error":${JSON.stringify(error)}${entry.aborted ? ',"aborted":true' : ""}}\n`
  );
}

/** The request's one structured line; the same shape on every path. */
export function logRequest(logger: Logger, entry: RequestLogEntry): void {
  const destination = ownDestination(logger);
  if (destination && logger.isLevelEnabled("info")) destination.write(formatRequestLine(entry, isoTimeNow()));
  else logger.info(entry);
}

/** Milliseconds, to the microsecond, since `started` (a `performance.now()` reading). */
export const millisecondsSince = (started: number): number => Math.round((performance.now() - started) * 1000) / 1000;

/**
 * Writes the request's one structured line when the response is over (git responses stream
 * long after the handler returns). `describe` is called then, so it sees the final user and
 * error code.
 */
export function logWhenDone(logger: Logger, res: ServerResponse, started: number, describe: () => RequestLogFields): void {
  res.once("close", () => {
    const { method, path, ip, user, error } = describe();
    logRequest(logger, {
      method,
      path,
      status: res.statusCode,
      ms: millisecondsSince(started),
      ip,
      user,
      error,
      ...(res.writableFinished ? {} : { aborted: true as const }),
    });
  });
}

/**
 * The path as logged: anything shaped like a secret replaced by its hint, even when the client
 * percent-encoded some of its characters (then the decoded path is logged, redacted).
 */
export function pathForLog(path: string): string {
  const redacted = redactSecrets(path);
  if (!path.includes("%")) return redacted;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return redacted;
  }
  const decodedRedacted = redactSecrets(decoded);
  return decodedRedacted === decoded ? redacted : decodedRedacted;
}

/**
 * One line per request. Only the path is logged, with anything shaped like a secret replaced by
 * its hint: query strings and headers may carry secrets (a token pasted into a URL).
 */
export function requestLogMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    logWhenDone(logger, ctx.res, performance.now(), () => ({
      method: ctx.method,
      // A token pasted into a URL path must not reach the log either.
      path: pathForLog(ctx.path),
      ip: ctx.ip,
      user: (ctx.state.user as string | undefined) ?? null,
      error: (ctx.state.errorCode as string | undefined) ?? null,
    }));
    await next();
  };
}
