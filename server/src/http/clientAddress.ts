import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import type { Middleware } from "koa";

/**
 * The client's address, read the same way on every path (REST, git, the auth hook): the
 * socket's peer, or with TRUST_PROXY the address our proxy saw, which is the LAST entry of
 * X-Forwarded-For (nginx's $proxy_add_x_forwarded_for appends it; anything before it came
 * from the client and is not believed). IPv4-mapped IPv6 addresses read as plain IPv4.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers["x-forwarded-for"];
    const forwarded = Array.isArray(header) ? header.join(",") : header;
    if (forwarded) {
      const last = withoutPort(forwarded.slice(forwarded.lastIndexOf(",") + 1).trim());
      if (isIP(last)) return plainAddress(last);
    }
  }
  return plainAddress(req.socket.remoteAddress ?? "");
}

/** Some load balancers write `192.0.2.1:5123` or `[2001:db8::1]:5123`. */
function withoutPort(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed?.[1]) return bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return v4WithPort?.[1] ?? entry;
}

const plainAddress = (address: string): string =>
  address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;

/** Makes `ctx.ip` the one reading above for everything in the Koa chain. */
export function clientAddressMiddleware(trustProxy: boolean): Middleware {
  return async (ctx, next) => {
    ctx.request.ip = clientAddress(ctx.req, trustProxy);
    await next();
  };
}
