import http from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app";
import type { Config, ServiceConfig } from "./config";
import { createDb, type Database } from "./db";
import { GitProcessHost } from "./git/processHost";
import { GitAccess, type GitAccessOptions } from "./gitAccess";
import type { Api } from "./http/api";
import { authHookListener, isAuthHookRequest } from "./http/authHook";
import { ensureInitialAdmin } from "./services/users";

export interface RunningServer {
  url: string;
  config: ServiceConfig;
  api: Api;
  server: http.Server;
  database: Database;
  gitAccess: GitAccess;
  close(): Promise<void>;
}

const HEADER_LIMIT_BYTES = 16 * 1024;

/**
 * Requests that never reach Koa (oversized or broken headers) still get the API's JSON
 * error shape instead of Node's bare status line.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
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
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Opens the database (migrating it), creates the first admin if needed, and listens. */
export async function startServer(config: Config, logger: Logger, gitAccessOptions: GitAccessOptions = {}): Promise<RunningServer> {
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
  const server = http.createServer({ maxHeaderSize: HEADER_LIMIT_BYTES }, (req, res) => {
    if (ready.handle) return ready.handle(req, res);
    res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "1" });
    res.end(JSON.stringify({ error: { code: "starting", message: "The service is starting" } }));
  });
  server.on("clientError", answerClientError);
  // git pushes can take long: no request timeout (DESIGN §5); idle keep-alive sockets still close.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const wildcard = config.host === "0.0.0.0" || config.host === "::";
  const host = wildcard ? "localhost" : config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  const serviceConfig: ServiceConfig = { ...config, publicUrl: config.publicUrl ?? url };
  const { koa, api } = createApp({ db: database.knex, config: serviceConfig, logger, gitAccess, gitHost, clock: gitAccessOptions.clock });
  const koaHandle = koa.callback();
  const hookHandle = authHookListener({ gitAccess, logger, trustProxy: config.trustProxy });
  ready.handle = (req, res) => {
    if (isAuthHookRequest(req)) hookHandle(req, res);
    else void koaHandle(req, res);
  };
  return {
    url,
    config: serviceConfig,
    api,
    server,
    database,
    gitAccess,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await gitHost.stop();
      await gitAccess.stop();
      await database.close();
    },
  };
}
