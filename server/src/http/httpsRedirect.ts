import type { IncomingMessage, RequestListener } from "node:http";
import type { Logger } from "pino";
import { redactSecrets } from "@clarive/shared";
import { logRequest, millisecondsSince } from "../middleware/requestLog";
import { clientAddress } from "./clientAddress";

/** A Host header's name part (no port), or undefined when it is anything else. */
const HOSTNAME = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export interface HttpsRedirectOptions {
  /** PUBLIC_URL when it was set to an https URL: where every redirect points. */
  publicUrl: string | undefined;
  /** The https listener's port, for a redirect built from the Host the browser asked for. */
  httpsPort: number;
  /** The https URL the service listens on, when the request names no usable host. */
  fallbackUrl: string;
  trustProxy: boolean;
  logger: Logger;
}

/** /git/ and /api/ (and the bare words): where a client sends credentials. */
const carriesCredentials = (pathname: string): boolean => /^\/(?:git|api)(?:\/|$)/.test(pathname);

/**
 * The optional plain-HTTP listener (HTTP_REDIRECT_PORT). Browsers asking for a page (/docs)
 * are sent to the https URL. git and API clients are not: git would follow the redirect and
 * send its credentials again, and the first request already went in clear text. They get 403
 * with a sentence naming the https URL, which git prints as "remote: …".
 */
export function httpsRedirectListener(options: HttpsRedirectOptions): RequestListener {
  return (req, res) => {
    const started = performance.now();
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    // An absolute-form target (`GET http://host/git/…`) is never a browser page: read as "/".
    const originForm = rawUrl.startsWith("/");
    const pathname = originForm ? rawUrl.split("?")[0] || "/" : "/";
    const base = httpsBase(req, options);
    const browserPage = originForm && (method === "GET" || method === "HEAD") && !carriesCredentials(pathname);
    if (browserPage) {
      res.writeHead(301, { Location: `${base}${rawUrl}`, "Content-Length": 0 });
      res.end();
    } else {
      const target = `${base}${gitRepositoryPath(pathname) ?? pathname}`;
      const text = `This service takes git and API requests over HTTPS only, so that tokens never cross the network in clear text: use ${target}\n`;
      res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text), Connection: "close" });
      res.end(method === "HEAD" ? undefined : text);
    }
    logRequest(options.logger, {
      method,
      // A token pasted into the URL must not reach the log in clear text (as on the https side).
      path: redactSecrets(pathname),
      status: res.statusCode,
      ms: millisecondsSince(started),
      ip: clientAddress(req, options.trustProxy),
      user: null,
      error: browserPage ? null : "https_required",
    });
  };
}

function httpsBase(req: IncomingMessage, options: HttpsRedirectOptions): string {
  if (options.publicUrl) return options.publicUrl;
  const hostname = HOSTNAME.exec(req.headers.host ?? "")?.[1];
  if (!hostname) return options.fallbackUrl;
  return `https://${hostname}${options.httpsPort === 443 ? "" : `:${options.httpsPort}`}`;
}

/** `/git/acme/widgets.git/info/refs` → `/git/acme/widgets.git`: the URL to clone, not git's endpoint. */
function gitRepositoryPath(pathname: string): string | undefined {
  const match = /^\/git\/([^/]+)\/([^/]+?)(?:\.git)?(?:\/|$)/.exec(pathname);
  return match ? `/git/${match[1]}/${match[2]}.git` : undefined;
}
