import { bodyParser } from "@koa/bodyparser";
import type { Context } from "koa";
import { DomainError, ValidationError } from "../errors";

export const MAX_BODY_BYTES = 64 * 1024;

const parser = bodyParser({ enableTypes: ["json"], jsonLimit: MAX_BODY_BYTES, jsonStrict: true });
const tooLarge = () => new DomainError(413, "payload_too_large", `Request body larger than ${MAX_BODY_BYTES / 1024} KiB`);

/**
 * Reads a JSON body of at most 64 KiB, for the routes that take one (only those pay for it);
 * parse failures become errors in the API's own shape.
 */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  if (Number(ctx.get("content-length") || 0) > MAX_BODY_BYTES) throw tooLarge();
  if (ctx.request.length && !ctx.request.is("application/json")) {
    throw new DomainError(415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json)");
  }
  try {
    await parser(ctx, async () => undefined);
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 413) throw tooLarge();
    if (status === 400) throw new ValidationError("Request body is not valid JSON", undefined, "invalid_json");
    // zlib and brotli fail without an HTTP status: a body that is not what its Content-Encoding says (or empty).
    const encoding = ctx.get("content-encoding");
    if (status === undefined && encoding && encoding !== "identity") {
      throw new DomainError(400, "invalid_request", `The body is not ${encoding}-encoded as its Content-Encoding header says`);
    }
    throw err;
  }
  return ctx.request.body;
}
