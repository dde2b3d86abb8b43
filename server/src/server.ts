import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app";
import type { Config, ServiceConfig } from "./config";
import { createDb, type Database } from "./db";
import { databaseState } from "./db/readiness";
import { anonymousGitRequest, gitChallengeListener } from "./git/challenge";
import { Housekeeping } from "./git/housekeeping";
import { AdvertisementCache, uploadPackProgram } from "./git/advertisementCache";
import { RefListCache } from "./git/refListCache";
import { GitProcessHost } from "./git/processHost";
import { PushProtection } from "./git/pushProtection";
import { systemClock } from "./lib/clock";
import { GitAccess, type GitAccessOptions } from "./gitAccess";
import type { Api } from "./http/api";
import { authHookListener, isAuthHookRequest } from "./http/authHook";
import { HEALTH_PATH, healthListener, isHealthRequest } from "./http/health";
import { httpsRedirectListener } from "./http/httpsRedirect";
import { RequestTracker } from "./http/requestTracker";
import { STRICT_TRANSPORT_SECURITY, logCertificate, readTlsCredentials, reloadTlsCredentials, type TlsCredentials } from "./http/tls";
import { ALL_STALE, SHARED_STALE, removeStaleGitFiles } from "./lib/staleGitFiles";
import { ServiceMetrics } from "./metrics";
import { METRICS_PATH, metricsListener } from "./metrics/endpoint";
import { ensureInitialAdmin } from "./services/users";
import { explainDatabaseError, listenOrExplain } from "./startup";

export interface RunningServer {
  /** `https://…` with native TLS, else `http://…`: where the service listens. */
  url: string;
  /** The HTTP_REDIRECT_PORT listener's `http://…` URL, when there is one. */
  redirectUrl: string | undefined;
  /** The METRICS_PORT listener's `http://…` URL, when there is one (else /metrics is on `url`). */
  metricsUrl: string | undefined;
  config: ServiceConfig;
  api: Api;
  server: http.Server | https.Server;
  database: Database;
  gitAccess: GitAccess;
  /** git's housekeeping after pushes (idle() resolves once none runs). */
  housekeeping: Housekeeping;
  /**
   * Re-reads TLS_CERT_FILE and TLS_KEY_FILE for new connections (what SIGHUP does); open ones
   * keep their certificate. A broken pair is logged and the old one stays. Without TLS, does nothing.
   */
  reloadTls(): TlsCredentials | undefined;
  /** Stops at once: open connections are cut. */
  close(): Promise<void>;
  /**
   * Stops gracefully (SIGTERM): /readyz answers 503, no new connection is accepted, running
   * requests may finish for up to `timeoutMs` (default SHUTDOWN_TIMEOUT), then it closes.
   * Resolves with the number of requests that were still running and got cut.
   */
  shutdown(timeoutMs?: number): Promise<number>;
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

const portOf = (server: http.Server | https.Server, fallback: number): number => {
  const address = server.address();
  return typeof address === "object" && address ? address.port : fallback;
};

type Listening = http.Server | https.Server;

/** Closes a listener and cuts its connections; resolves once it is closed (at once if it never listened). */
function closeListener(listening: Listening, closed: Promise<void>): Promise<void> {
  if (listening.listening) listening.close();
  listening.closeAllConnections();
  return closed;
}

/** The service's own listener (http or https), answering what Node answers before any handler in the API's shape. */
function createMainListener(credentials: TlsCredentials | undefined, listener: http.RequestListener, logger: Logger): Listening {
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
  return server;
}

function answerStarting(req: http.IncomingMessage, res: http.ServerResponse): void {
  // The process is up (liveness), but nothing can be served yet.
  const up = req.url === HEALTH_PATH;
  res.writeHead(up ? 200 : 503, { "Content-Type": "application/json", "Cache-Control": "no-store", ...(!up && { "Retry-After": "1" }) });
  res.end(JSON.stringify(up ? { status: "ok" } : { error: { code: "starting", message: "The service is starting" } }));
}

/**
 * Listens first (a busy port is found before anything is created), then opens the database
 * (migrating it), starts git access and the git process host, cleans up what a killed push
 * left, and creates the first admin last: nothing that can fail comes between creating its
 * random password and printing it. Until then requests get 503 (starting).
 */
export async function startServer(config: Config, logger: Logger, gitAccessOptions: GitAccessOptions = {}): Promise<RunningServer> {
  // Before anything slow: a bad certificate is a configuration error, found in the first instant.
  const credentials = config.tls && readTlsCredentials(config.tls);
  const metrics = new ServiceMetrics();
  const tracker = new RequestTracker(metrics);
  const ready: { handle?: http.RequestListener } = {};
  const listener: http.RequestListener = (req, res) => {
    // Set before any handler writes, so REST, git and the auth hook all carry it (writeHead merges it).
    if (credentials) res.setHeader("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY);
    tracker.track(req, res);
    if (ready.handle) ready.handle(req, res);
    else answerStarting(req, res);
  };
  const server = createMainListener(credentials, listener, logger);
  const listeners: { server: Listening; closed: Promise<void> }[] = [];
  const opened: (() => Promise<void>)[] = [];
  const closeOpened = async () => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    opened.length = 0;
  };
  const addListener = async (listening: Listening, port: number, host: string, variable: string): Promise<number> => {
    const closed = new Promise<void>((resolve) => listening.once("close", () => resolve()));
    await listenOrExplain(listening, port, host, variable);
    listeners.push({ server: listening, closed });
    opened.push(() => closeListener(listening, closed));
    return portOf(listening, port);
  };

  try {
    const port = await addListener(server, config.port, config.host, "PORT");
    const hostFor = (host: string) => (host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host);
    const host = hostFor(config.host);
    const url = `${credentials ? "https" : "http"}://${host}:${port}`;
    const serviceConfig: ServiceConfig = {
      ...config,
      publicUrl: config.publicUrl ?? url,
      publicUrlIsExplicit: config.publicUrl !== undefined,
    };
    let redirectUrl: string | undefined;
    if (credentials && config.httpRedirectPort !== undefined) {
      const redirectServer = http.createServer(
        { maxHeaderSize: HEADER_LIMIT_BYTES },
        httpsRedirectListener({
          publicUrl:
            serviceConfig.publicUrlIsExplicit && serviceConfig.publicUrl.startsWith("https:") ? serviceConfig.publicUrl : undefined,
          httpsPort: port,
          fallbackUrl: url,
          trustProxy: config.trustProxy,
          logger,
        }),
      );
      redirectServer.on("clientError", clientErrorAnswer(false));
      redirectUrl = `http://${host}:${await addListener(redirectServer, config.httpRedirectPort, config.host, "HTTP_REDIRECT_PORT")}`;
    }
    let metricsUrl: string | undefined;
    const answerMetrics = metricsListener(metrics, logger);
    if (config.metrics) {
      const metricsServer = http.createServer({ maxHeaderSize: HEADER_LIMIT_BYTES }, (req, res) => {
        if (req.url === METRICS_PATH) return answerMetrics(req, res);
        res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("Not found: metrics are at /metrics\n");
      });
      metricsServer.on("clientError", clientErrorAnswer(false));
      metricsUrl = `http://${hostFor(config.metrics.host)}:${await addListener(metricsServer, config.metrics.port, config.metrics.host, "METRICS_PORT")}`;
    }

    const database = await createDb(config, logger).catch((error: unknown) => {
      throw explainDatabaseError(error, config.databaseUrl);
    });
    opened.push(() => database.close());
    const gitAccess = await GitAccess.start(database, logger, {
      ...gitAccessOptions,
      onDecision: (decision) => {
        metrics.observeDecision(decision);
        gitAccessOptions.onDecision?.(decision);
      },
    });
    opened.push(() => gitAccess.stop());
    const gitHost = new GitProcessHost(logger);
    opened.push(() => gitHost.stop());
    await gitHost.ensureStarted();
    const housekeeping = new Housekeeping(gitHost, logger);
    opened.push(() => housekeeping.stop()); // before the host stops (closed in reverse)
    const pushProtection = await PushProtection.start({
      db: database.knex,
      gitAccess,
      gitHost,
      logger,
      clock: gitAccessOptions.clock ?? systemClock,
    });
    opened.push(() => pushProtection.stop());
    const program = uploadPackProgram();
    const [advertisements, refLists] = [new AdvertisementCache(program), new RefListCache(program)];
    metrics.watch({
      refLists: () => refLists.lookups,
      changeFeedTrusted: () => gitAccess.cacheTrusted,
      authCacheLookups: () => gitAccess.cacheLookups,
      inFlight: () => tracker.inFlight,
      pushChecks: () => pushProtection.checks,
    });
    await cleanRepositories(config, database, logger);

    if (credentials) logCertificate(logger, credentials, "loaded");
    else if (!isLoopback(config.host) && !config.trustProxy) {
      logger.warn(
        { host: config.host },
        `listening on ${config.host} over plain HTTP: personal access tokens and passwords would cross the network in clear text; set TLS_CERT_FILE and TLS_KEY_FILE, or put a TLS proxy in front and set TRUST_PROXY=true`,
      );
    }

    const { koa, api } = createApp({
      db: database.knex,
      config: serviceConfig,
      logger,
      gitAccess,
      gitHost,
      pushProtection,
      housekeeping,
      advertisements,
      refLists,
      availability: database.availability,
      clock: gitAccessOptions.clock,
      onGitTraffic: (service, received, sent) => metrics.observeGitTraffic(service, received, sent),
    });
    const koaHandle = koa.callback();
    const hookHandle = authHookListener({ gitAccess, logger, trustProxy: config.trustProxy });
    const healthHandle = healthListener(
      {
        database: () => databaseState(database.knex),
        changeFeedTrusted: () => gitAccess.cacheTrusted,
        draining: () => tracker.draining,
      },
      logger,
    );
    const metricsOnMainPort = config.metrics === undefined;

    await announceInitialAdmin(database, config, logger);
    // git's anonymous first request of each command: its 401 challenge without Koa (git/challenge.ts).
    const challengeHandle = gitChallengeListener(
      { gitAccess, logger, trustProxy: config.trustProxy },
      (req, res) => void koaHandle(req, res),
    );
    ready.handle = (req, res) => {
      let anonymousGit;
      if (isAuthHookRequest(req)) hookHandle(req, res);
      else if (isHealthRequest(req.url)) healthHandle(req, res);
      else if (metricsOnMainPort && req.url === METRICS_PATH) answerMetrics(req, res);
      else if ((anonymousGit = anonymousGitRequest(req))) challengeHandle(req, res, anonymousGit);
      else void koaHandle(req, res);
    };

    const tlsServer = credentials ? (server as https.Server) : undefined;
    const close = async () => {
      await Promise.all(listeners.map(({ server: listening, closed }) => closeListener(listening, closed)));
      await closeOpened();
    };
    return {
      url,
      redirectUrl,
      metricsUrl,
      config: serviceConfig,
      api,
      server,
      database,
      gitAccess,
      housekeeping,
      reloadTls: () => (tlsServer && config.tls ? reloadTlsCredentials(tlsServer, config.tls, logger) : undefined),
      close,
      shutdown: async (timeoutMs = config.shutdownTimeoutMs) => {
        const cut = await tracker.drain(
          listeners.map(({ server: listening }) => listening),
          timeoutMs,
        );
        if (cut > 0) logger.warn({ cut, timeoutMs }, `shutdown: ${cut} request(s) still running after SHUTDOWN_TIMEOUT; cutting them`);
        await close();
        return cut;
      },
    };
  } catch (error) {
    // Nothing may stay open behind a failed start (tests start many services in one process).
    await closeOpened();
    throw error;
  }
}

/** Creates the first admin if the database has no user, and prints a generated password. */
async function announceInitialAdmin(database: Database, config: Config, logger: Logger): Promise<void> {
  const admin = await ensureInitialAdmin(database.knex, config.adminPassword);
  if (admin.generatedPassword) {
    // Printed once, to the console only, by design (DESIGN §3); never through the logger.
    process.stdout.write(
      `\n  First start: created user "admin" with password ${admin.generatedPassword}\n  Change it with PATCH /api/v1/users/admin.\n\n`,
    );
  } else if (admin.created) {
    logger.info("created user admin with the password from ADMIN_PASSWORD");
  }
}

/**
 * What pushes cut short by a crash left in the repositories (lib/staleGitFiles.ts). With the
 * embedded database no other instance can be using the folder, so everything goes; with
 * Postgres other instances may share it, and only what is long untouched does.
 */
async function cleanRepositories(config: Config, database: Database, logger: Logger): Promise<void> {
  try {
    const removed = await removeStaleGitFiles(config.reposDir, database.kind === "pglite" ? ALL_STALE : SHARED_STALE);
    if (removed.quarantines.length + removed.locks.length > 0) {
      logger.warn(removed, "removed what interrupted pushes left in the repositories (quarantined objects, stale lock files)");
    }
  } catch (error) {
    logger.warn({ err: error }, "could not look for what interrupted pushes left in the repositories");
  }
}
