import { bodyParser } from "@koa/bodyparser";
import type { Middleware } from "koa";
import { DomainError, ValidationError } from "../errors";

export const MAX_BODY_BYTES = 64 * 1024;

/** JSON bodies only, at most 64 KiB; parse failures become errors in the API's own shape. */
export function jsonBodyMiddleware(): Middleware {
  const parse = bodyParser({ enableTypes: ["json"], jsonLimit: MAX_BODY_BYTES, jsonStrict: true });
  return async (ctx, next) => {
    if (Number(ctx.get("content-length") || 0) > MAX_BODY_BYTES) {
      throw new DomainError(413, "payload_too_large", `Request body larger than ${MAX_BODY_BYTES / 1024} KiB`);
    }
    try {
      await parse(ctx, async () => undefined);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 413) {
        throw new DomainError(413, "payload_too_large", `Request body larger than ${MAX_BODY_BYTES / 1024} KiB`);
      }
      if (status === 400) throw new ValidationError("Request body is not valid JSON", undefined, "invalid_json");
      throw err;
    }
    await next();
  };
}
