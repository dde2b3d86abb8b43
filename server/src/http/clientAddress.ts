import type { IncomingMessage } from "node:http";

/**
 * The client's address the way Koa computes `ctx.ip` (koa/lib/request.js): with a trusted
 * proxy, the first X-Forwarded-For entry; otherwise the socket's peer. For the one path that
 * answers without Koa (the auth hook), so both paths agree on whom to throttle and record.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers["x-forwarded-for"];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? "";
}
