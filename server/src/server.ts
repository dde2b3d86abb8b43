import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app";
import type { Config, ServiceConfig } from "./config";
import { createDb, type Database } from "./db";
import { GitProcessHost } from "./git/processHost";
import { GitAccess, type GitAccessOptions } from "./gitAccess";
import type { Api } from "./http/api";
import { authHookListener, isAuthHookRequest } from "./http/authHook";
import { httpsRedirectListener } from "./http/httpsRedirect";
import { STRICT_TRANSPORT_SECURITY, logCertificate, readTlsCredentials, reloadTlsCredentials, type TlsCredentials } from "./http/tls";
import { ensureInitialAdmin } from "./services/users";

export interface RunningServer {
  /** `https://…` with native TLS, else `http://…`: where the service listens. */
  url: string;
  /** The HTTP_REDIRECT_PORT listener's `http://…` URL, when there is one. */
  redirectUrl: string | undefined;
  config: ServiceConfig;
  api: Api;
  server: http.Server | https.Server;
  database: Database;
  gitAccess: GitAccess;
  /**
   * Re-reads TLS_CERT_FILE and TLS_KEY_FILE for new connections (what SIGHUP does); open ones
   * keep their certificate. A broken pair is logged and the old one stays. Without TLS, does nothing.
   */
  reloadTls(): TlsCredentials | undefined;
  close(): Promise<void>;
}

const HEADER_LIMIT_BYTES = 16 * 1024;

/**
 * Requests that never reach Koa (oversized or broken headers) still get the API's JSON
 * error shape instead of Node's bare status line, and over TLS the HSTS header every other
 * answer carries.
 */
const clientErrorAnswer =
  (hsts: boolean) =>
  (err: NodeJS.ErrnoException, socket: Socket): void =>
    answerClientError(err, socket, hsts);

function answerClientError(err: NodeJS.ErrnoException, socket: Socket, hsts: boolean): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    error: tooLarge
      ? { code: "headers_too_large", message: `Request headers larger than ${HEADER_LIMIT_BYTES / 1024} KiB` }
      : { code: "bad_request", message: "Malformed HTTP request" },
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
      (hsts ? `Strict-Transport-Security: ${STRICT_TRANSPORT_SECURITY}\r\n` : "") +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);

const listen = (server: http.Server | https.Server, port: number, host: string): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });

const portOf = (server: http.Server | https.Server, fallback: number): number => {
  const address = server.address();
  return typeof address === "object" && address ? address.port : fallback;
};

/** Opens the database (migrating it), creates the first admin if needed, and listens. */
export async function startServer(config: Config, logger: Logger, gitAccessOptions: GitAccessOptions = {}): Promise<RunningServer> {
  // Before anything slow: a bad certificate is a configuration error, found in the first instant.
  const credentials = config.tls && readTlsCredentials(config.tls);
  const database = await createDb(config);
  const admin = await ensureInitialAdmin(database.knex, config.adminPassword);
  if (admin.generatedPassword) {
    // Printed once, to the console only, by design (DESIGN §3); never through the logger.
    process.stdout.write(
      `\n  First start: created user "admin" with password ${admin.generatedPassword}\n  Change it with PATCH /api/v1/users/admin.\n\n`,
    );
  } else if (admin.created) {
    logger.info("created user admin with the password from ADMIN_PASSWORD");
  }
  const gitAccess = await GitAccess.start(database, logger, gitAccessOptions);
  const gitHost = new GitProcessHost(logger);
  await gitHost.ensureStarted();

  // The app is built once the port is known, so clone URLs name the real one (PORT=0 in
  // tests); a request in that instant gets a 503 rather than hanging.
  const ready: { handle?: http.RequestListener } = {};
  const listener: http.RequestListener = (req, res) => {
    // Set before any handler writes, so REST, git and the auth hook all carry it (writeHead merges it).
    if (credentials) res.setHeader("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY);
    if (ready.handle) return ready.handle(req, res);
    res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "1" });
    res.end(JSON.stringify({ error: { code: "starting", message: "The service is starting" } }));
  };
  const server = credentials
    ? https.createServer({ maxHeaderSize: HEADER_LIMIT_BYTES, cert: credentials.cert, key: credentials.key }, listener)
    : http.createServer({ maxHeaderSize: HEADER_LIMIT_BYTES }, listener);
  server.on("clientError", clientErrorAnswer(credentials !== undefined));
  // An Expect header other than 100-continue: answered here, in the API's shape (with HSTS), not by Node.
  server.on("checkExpectation", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = JSON.stringify({ error: { code: "expectation_failed", message: "Only Expect: 100-continue is supported" } });
    res.writeHead(417, {
      ...(credentials && { "Strict-Transport-Security": STRICT_TRANSPORT_SECURITY }),
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  if (credentials) {
    // A client that does not trust the certificate hangs up during the handshake: nothing was
    // sent yet (no credentials), so the address and OpenSSL's reason are all there is to log.
    server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      logger.debug({ ip: socket.remoteAddress, reason: err.code ?? err.message }, "TLS handshake failed");
    });
  }
  // git pushes can take long: no request timeout (DESIGN §5); idle keep-alive sockets still close.
  server.requestTimeout = 0;
  await listen(server, config.port, config.host);
  const port = portOf(server, config.port);
  const wildcard = config.host === "0.0.0.0" || config.host === "::";
  const host = wildcard ? "localhost" : config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${credentials ? "https" : "http"}://${host}:${port}`;
  const serviceConfig: ServiceConfig = {
    ...config,
    publicUrl: config.publicUrl ?? url,
    publicUrlIsExplicit: config.publicUrl !== undefined,
  };
  if (credentials) logCertificate(logger, credentials, "loaded");
  else if (!isLoopback(config.host) && !config.trustProxy) {
    logger.warn(
      { host: config.host },
      `listening on ${config.host} over plain HTTP: personal access tokens and passwords would cross the network in clear text; set TLS_CERT_FILE and TLS_KEY_FILE, or put a TLS proxy in front and set TRUST_PROXY=true`,
    );
  }

  let redirectServer: http.Server | undefined;
  let redirectUrl: string | undefined;
  if (credentials && config.httpRedirectPort !== undefined) {
    redirectServer = http.createServer(
      { maxHeaderSize: HEADER_LIMIT_BYTES },
      httpsRedirectListener({
        publicUrl: serviceConfig.publicUrlIsExplicit && serviceConfig.publicUrl.startsWith("https:") ? serviceConfig.publicUrl : undefined,
        httpsPort: port,
        fallbackUrl: url,
        trustProxy: config.trustProxy,
        logger,
      }),
    );
    redirectServer.on("clientError", clientErrorAnswer(false));
    try {
      await listen(redirectServer, config.httpRedirectPort, config.host);
    } catch (error) {
      // The port is taken: nothing must stay open behind the error (tests start many services in one process).
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gitHost.stop();
      await gitAccess.stop();
      await database.close();
      throw error;
    }
    redirectUrl = `http://${host}:${portOf(redirectServer, config.httpRedirectPort)}`;
  }
  const { koa, api } = createApp({ db: database.knex, config: serviceConfig, logger, gitAccess, gitHost, clock: gitAccessOptions.clock });
  const koaHandle = koa.callback();
  const hookHandle = authHookListener({ gitAccess, logger, trustProxy: config.trustProxy });
  ready.handle = (req, res) => {
    if (isAuthHookRequest(req)) hookHandle(req, res);
    else void koaHandle(req, res);
  };
  const tlsServer = credentials ? (server as https.Server) : undefined;
  return {
    url,
    redirectUrl,
    config: serviceConfig,
    api,
    server,
    database,
    gitAccess,
    reloadTls: () => (tlsServer && config.tls ? reloadTlsCredentials(tlsServer, config.tls, logger) : undefined),
    close: async () => {
      const closing = [server, ...(redirectServer ? [redirectServer] : [])].map(
        (listening) =>
          new Promise<void>((resolve) => {
            listening.close(() => resolve());
            listening.closeAllConnections();
          }),
      );
      await Promise.all(closing);
      await gitHost.stop();
      await gitAccess.stop();
      await database.close();
    },
  };
}
