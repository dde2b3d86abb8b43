import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { ErrorBody } from "@clarive/shared";
import { DomainError, TooManyRequestsError } from "../errors";

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

/** The status and JSON body (DESIGN §4) for any error; `internal` ones are logged, never shown. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof DomainError) {
    const details = err.details === undefined ? {} : { details: err.details };
    return { status: err.status, body: { error: { code: err.code, message: err.message, ...details } }, internal: false };
  }
  const e = (err ?? {}) as HttpishError;
  const status = e.status ?? e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const [code, fallback] = HTTP_CODES[status] ?? ["invalid_request"];
    const message = fallback ?? (e.expose && e.message ? e.message : "Bad request");
    return { status, body: { error: { code, message } }, internal: false };
  }
  return { status: 500, body: { error: { code: "internal_error", message: "Internal server error" } }, internal: true };
}

/** The one place where errors become HTTP responses, in the JSON shape of DESIGN §4. */
export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) ctx.throw(404);
    } catch (err) {
      const { status, body, internal } = errorResponse(err);
      if (internal) logger.error({ err, method: ctx.method, path: ctx.path }, "unhandled error");
      ctx.status = status;
      if (err instanceof TooManyRequestsError) ctx.set("Retry-After", String(err.retryAfterSeconds));
      ctx.body = body;
      ctx.state.errorCode = body.error.code;
    }
  };
}
