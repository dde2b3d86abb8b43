import type { Middleware } from "koa";
import type { Logger } from "pino";

/**
 * One structured line per request. Only the path is logged: query strings and headers may
 * carry secrets (a token pasted into a URL), and credentials never appear in a path we serve.
 */
export function requestLogMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const log = () =>
        logger.info({
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          ip: ctx.ip,
          user: ctx.state.user ?? null,
          error: ctx.state.errorCode ?? null,
        });
      // Streamed bodies (git) finish after the middleware chain returns.
      const streaming = typeof (ctx.body as { pipe?: unknown } | null | undefined)?.pipe === "function";
      if (ctx.res.writableFinished || !streaming) log();
      else ctx.res.once("close", log);
    }
  };
}
