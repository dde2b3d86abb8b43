import type { IncomingMessage } from "node:http";
import type { ServiceConfig } from "../config";

/** A Host header as a proxy forwards it: a name or address and an optional port, nothing that could end a URL's authority early. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The scheme the client used, as our proxy says in X-Forwarded-Proto: its LAST entry, the one
 * the proxy itself wrote (as for X-Forwarded-For in clientAddress.ts). Only with TRUST_PROXY.
 */
export function forwardedProto(req: IncomingMessage, trustProxy: boolean): "http" | "https" | undefined {
  if (!trustProxy) return undefined;
  const header = req.headers["x-forwarded-proto"];
  const value = Array.isArray(header) ? header.join(",") : header;
  if (!value) return undefined;
  const last = value
    .slice(value.lastIndexOf(",") + 1)
    .trim()
    .toLowerCase();
  return last === "https" || last === "http" ? last : undefined;
}

/**
 * The base of the URLs the service hands out (clone URLs, the OpenAPI server) for one request.
 * PUBLIC_URL always wins; otherwise, behind a trusted proxy that says how the client came in
 * (X-Forwarded-Proto, with the Host the client asked for), that; otherwise the address the
 * service listens on (https:// with native TLS).
 */
export function requestPublicUrl(req: IncomingMessage, config: ServiceConfig): string {
  if (config.publicUrlIsExplicit) return config.publicUrl;
  const proto = forwardedProto(req, config.trustProxy);
  if (!proto) return config.publicUrl;
  const host = req.headers.host;
  return `${proto}://${host && HOST.test(host) ? host : new URL(config.publicUrl).host}`;
}
