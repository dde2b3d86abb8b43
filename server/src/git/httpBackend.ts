import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { GitRequestTarget } from "./gitPath";
import type { GitProcessHost, GitRun } from "./processHost";

export interface BackendRequest {
  req: IncomingMessage;
  res: ServerResponse;
  reposDir: string;
  target: GitRequestTarget;
  remoteUser: string;
  remoteAddr: string;
  host: GitProcessHost;
  logger: Logger;
  /** Set by the service itself (push protection's hook), never from the request. */
  hookEnv?: Record<string, string> | undefined;
  /** Told the request body's bytes and git's output bytes once the response is over (GET /metrics). */
  onTraffic?: ((received: number, sent: number) => void) | undefined;
}

// Git-Protocol is passed to git as GIT_PROTOCOL; only the documented key=value[:key=value] shape.
const GIT_PROTOCOL = /^[A-Za-z0-9._-]+(=[A-Za-z0-9._-]*)?(:[A-Za-z0-9._-]+(=[A-Za-z0-9._-]*)?)*$/;
const HEADER_END = /\r?\n\r?\n/;
const MAX_CGI_HEADER_BYTES = 64 * 1024;

/**
 * The CGI environment, built from validated values only: never from client header names,
 * so a client cannot smuggle variables such as GIT_CONFIG_* into git.
 */
function cgiEnvironment(r: BackendRequest): NodeJS.ProcessEnv {
  const { req, target } = r;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: r.reposDir,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: `/${target.project}/${target.repository}.git/${target.endpoint}`,
    QUERY_STRING: target.endpoint === "info/refs" ? `service=${target.service}` : "",
    REQUEST_METHOD: req.method ?? "GET",
    REMOTE_USER: r.remoteUser,
    REMOTE_ADDR: r.remoteAddr,
    GATEWAY_INTERFACE: "CGI/1.1",
  };
  const contentType = req.headers["content-type"];
  if (contentType) env.CONTENT_TYPE = contentType;
  // A chunked body has no length: git http-backend then reads to end of input.
  const length = req.headers["content-length"];
  if (length && /^\d+$/.test(length) && !req.headers["transfer-encoding"]) env.CONTENT_LENGTH = length;
  const encoding = req.headers["content-encoding"];
  if (encoding === "gzip" || encoding === "x-gzip") env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = req.headers["git-protocol"];
  if (typeof protocol === "string" && protocol.length <= 256 && GIT_PROTOCOL.test(protocol)) env.GIT_PROTOCOL = protocol;
  return { ...env, ...r.hookEnv };
}

function parseCgiHeaders(block: string): { status: number; headers: [string, string][] } {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}

/**
 * Runs `git http-backend` for one authorised request, streaming the request body in and the
 * response out with backpressure (pipe), and stopping git when the client goes away.
 * Resolves when the response is over.
 */
export async function serveWithHttpBackend(r: BackendRequest): Promise<void> {
  const { req, res, logger } = r;
  // A client gone while we authenticated or connected has already fired 'close': check, or git
  // would run with nobody to stop it.
  const clientGone = () => res.destroyed || req.destroyed;
  if (clientGone()) return;
  let run: GitRun;
  try {
    run = await r.host.run(cgiEnvironment(r));
  } catch (error) {
    logger.error({ err: error }, "could not run git http-backend");
    res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("Internal error running git\n");
    return;
  }
  const { stream } = run;
  if (clientGone()) {
    run.kill();
    stream.destroy();
    return;
  }
  void run.exited.then(({ code, stderr }) => {
    if (code !== 0 && code !== null) logger.warn({ code, stderr: stderr.trim() }, "git http-backend failed");
  });
  return new Promise((resolve) => {
    let headersDone = false;
    let pending = Buffer.alloc(0);

    let received = 0;
    let sent = 0;
    res.once("close", () => {
      if (!res.writableFinished) run.kill(); // the client left before git's answer was all sent
      stream.destroy();
      r.onTraffic?.(received, sent);
      resolve();
    });
    req.pipe(stream);
    if (r.onTraffic) {
      req.on("data", (chunk: Buffer) => (received += chunk.length));
      stream.on("data", (chunk: Buffer) => (sent += chunk.length));
    }
    stream.on("error", (error) => {
      logger.warn({ err: error }, "git process host connection failed");
      stream.destroy();
    });

    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // latin1 maps each byte to one character, so string offsets are byte offsets.
      const text = pending.toString("latin1");
      const end = HEADER_END.exec(text);
      if (!end) {
        if (pending.length > MAX_CGI_HEADER_BYTES) stream.destroy();
        return;
      }
      headersDone = true;
      stream.off("data", onData);
      const { status, headers } = parseCgiHeaders(text.slice(0, end.index));
      // Flat [name, value, …]: Node merges that form (not a list of pairs) with headers already
      // set on the response, such as Strict-Transport-Security over TLS.
      res.writeHead(status, headers.flat());
      const rest = pending.subarray(end.index + end[0].length);
      if (rest.length > 0) res.write(rest);
      stream.pipe(res);
    };
    stream.on("data", onData);
    stream.resume();
    stream.on("close", () => {
      if (headersDone) {
        // Closed without an end (host crash, reset): cut the response so git sees the failure
        // instead of waiting forever (there is no request timeout on git routes).
        if (!res.writableEnded) res.destroy();
        return;
      }
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("git http-backend produced no response\n");
    });
  });
}
