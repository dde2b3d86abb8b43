import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { ErrorBody } from "@clarive/shared";
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from "../db/unavailable";
import { DomainError, ServiceUnavailableError, TooManyRequestsError } from "../errors";

/** The one sentence for "the database cannot be reached", in REST's JSON, git's text and the auth hook's reason. */
export const DATABASE_UNAVAILABLE_MESSAGE = "The service cannot reach its database right now; try again in a few seconds";

/**
 * A database error that means "unreachable" as the domain error it stands for, else undefined:
 * REST, the git routes and the auth hook answer it the same way, and it is no fault of the
 * service to log with a stack (DatabaseAvailability logs the outage once).
 */
export function databaseUnavailable(err: unknown): ServiceUnavailableError | undefined {
  if (err instanceof ServiceUnavailableError) return err;
  return isDatabaseUnavailable(err) ? new ServiceUnavailableError(DATABASE_UNAVAILABLE_MESSAGE, DATABASE_RETRY_AFTER_SECONDS) : undefined;
}

// Errors raised by Koa, the router and the body parser carry a status but no stable code.
const HTTP_CODES: Record<number, [code: string, message?: string]> = {
  400: ["invalid_request"],
  404: ["not_found", "No such endpoint"],
  405: ["method_not_allowed", "This endpoint does not support that method"],
  413: ["payload_too_large", "Request body larger than 64 KiB"],
  415: ["unsupported_media_type"],
  501: ["not_implemented", "This method is not implemented"],
};

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  /** Retry-After, for 429 and 503. */
  headers: Record<string, string>;
  /** A fault of the service: logged with its stack, never shown. */
  internal: boolean;
}

/** The status, JSON body (DESIGN §4) and headers for any error; `internal` ones are logged, never shown. */
export function errorResponse(err: unknown): ErrorAnswer {
  if (err instanceof DomainError) {
    const details = err.details === undefined ? {} : { details: err.details };
    const retryAfter = err instanceof TooManyRequestsError || err instanceof ServiceUnavailableError ? err.retryAfterSeconds : undefined;
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...details } },
      headers: retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) },
      internal: false,
    };
  }
  const e = (err ?? {}) as HttpishError;
  const status = e.status ?? e.statusCode ?? 500;
  // 501: a method the router does not know at all (TRACE, PROPFIND…), the client's doing like a 4xx.
  if ((status >= 400 && status < 500) || status === 501) {
    const [code, fallback] = HTTP_CODES[status] ?? ["invalid_request"];
    const message = fallback ?? (e.expose && e.message ? e.message : "Bad request");
    return { status, body: { error: { code, message } }, headers: {}, internal: false };
  }
  const unavailable = databaseUnavailable(err);
  if (unavailable) return errorResponse(unavailable);
  return { status: 500, body: { error: { code: "internal_error", message: "Internal server error" } }, headers: {}, internal: true };
}

/** The one place where errors become HTTP responses, in the JSON shape of DESIGN §4. */
export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) ctx.throw(404);
    } catch (err) {
      const { status, body, headers, internal } = errorResponse(err);
      if (internal) logger.error({ err, method: ctx.method, path: ctx.path }, "unhandled error");
      ctx.status = status;
      ctx.set(headers);
      ctx.body = body;
      ctx.state.errorCode = body.error.code;
    }
  };
}
