import type { Middleware } from "koa";
import type { Logger } from "pino";

/**
 * One structured line per request, written when the response is over (git responses stream
 * long after the middleware chain returns). Only the path is logged: query strings and
 * headers may carry secrets (a token pasted into a URL); credentials never appear in a path.
 */
export function requestLogMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    ctx.res.once("close", () =>
      logger.info({
        method: ctx.method,
        path: ctx.path,
        status: ctx.res.statusCode,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        ip: ctx.ip,
        user: ctx.state.user ?? null,
        error: ctx.state.errorCode ?? null,
        ...(ctx.res.writableFinished ? {} : { aborted: true }),
      }),
    );
    await next();
  };
}
