import Koa from "koa";
import Router from "@koa/router";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { ServiceConfig } from "./config";
import { Api } from "./http/api";
import { errorMiddleware, errorResponse } from "./middleware/errors";
import { requestLogMiddleware } from "./middleware/requestLog";
import type { GitService } from "./git/gitPath";
import type { Housekeeping } from "./git/housekeeping";
import type { AdvertisementCache } from "./git/advertisementCache";
import type { RefListCache } from "./git/refListCache";
import type { GitProcessHost } from "./git/processHost";
import type { PushProtection } from "./git/pushProtection";
import { gitHttpMiddleware } from "./git/routes";
import { registerAdminTokenRoutes } from "./routes/adminTokens";
import { registerAuditRoutes } from "./routes/audit";
import { registerCredentialRoutes } from "./routes/credentials";
import { registerGitAuthHookRoute } from "./routes/gitAuthHook";
import { documentOperationsEndpoints } from "./routes/operations";
import type { GitAccess } from "./gitAccess";
import type { DatabaseAvailability } from "./db/unavailable";
import { systemClock, type Clock } from "./lib/clock";
import { clientAddressMiddleware } from "./http/clientAddress";
import { registerAuthRoutes } from "./routes/auth";
import { registerDocsRoutes } from "./routes/docs";
import { registerRepositoryRoutes } from "./routes/repositories";
import { registerSettingsRoutes } from "./routes/settings";
import { registerTokenRoutes } from "./routes/tokens";
import { registerUserRoutes } from "./routes/users";

const READ_ONLY_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const OPENAPI_PATH = "/api/v1/openapi.json";

export interface AppDeps {
  db: Knex;
  config: ServiceConfig;
  logger: Logger;
  gitAccess: GitAccess;
  gitHost: GitProcessHost;
  pushProtection: PushProtection;
  /** git's housekeeping after each push, once it is answered (git/housekeeping.ts). */
  housekeeping?: Housekeeping;
  /** Protocol v2's capability advertisement and lists of refs, kept while unchanged; without them git answers each request. */
  advertisements?: AdvertisementCache;
  refLists?: RefListCache;
  /** Whether the database answers: REST is refused at once (503) while it is known not to. */
  availability?: DatabaseAvailability;
  /** The service's time (token rotation windows); the same clock as git access decides by. */
  clock?: Clock;
  /** Bytes in and out of each request git served (GET /metrics). */
  onGitTraffic?: (service: GitService, received: number, sent: number) => void;
}

export interface App {
  koa: Koa;
  api: Api;
}

export function createApp(deps: AppDeps): App {
  const { db, config, logger, gitAccess, availability, clock = systemClock } = deps;
  const api = new Api({ db, config, clock });
  registerAuthRoutes(api, gitAccess.loginThrottle);
  registerSettingsRoutes(api);
  registerRepositoryRoutes(api);
  registerUserRoutes(api);
  registerTokenRoutes(api);
  registerAdminTokenRoutes(api);
  registerAuditRoutes(api);
  registerCredentialRoutes(api);
  registerGitAuthHookRoute(api);
  documentOperationsEndpoints(api, config.metrics === undefined);

  const docs = new Router();
  registerDocsRoutes(docs, api);

  // Behind a proxy every client would otherwise share the proxy's address: one login-throttle
  // counter for everybody, and the proxy recorded as each token's last-used address.
  const koa = new Koa({ proxy: config.trustProxy });
  koa.use(clientAddressMiddleware(config.trustProxy));
  koa.use(requestLogMiddleware(logger));
  koa.use(errorMiddleware(logger));
  // While the database is known to be away (a hung server), the API answers 503 at once instead
  // of each request waiting out the connect and statement deadlines (5 s, 15 s) and piling up
  // on the pool, as git already is. The document needs no database.
  if (availability) {
    koa.use(async (ctx, next) => {
      if (ctx.path.startsWith("/api/") && ctx.path !== OPENAPI_PATH) availability.assertReachable();
      await next();
    });
  }
  koa.use(async (ctx, next) => {
    // git's own requests change no rights (its pushes move refs, not facts a decision reads).
    if (READ_ONLY_METHODS.has(ctx.method) || ctx.path.startsWith("/git/")) {
      await next();
      return;
    }
    // Before the response goes out, for every other write that may have changed something
    // (all but refused ones, which change nothing), however its path is spelt: no instance may
    // decide on the old facts once the client has the answer (DESIGN §7). One round trip
    // through the change feed.
    let refused = false;
    try {
      await next();
      refused = ctx.status >= 400 && ctx.status < 500;
    } catch (error) {
      refused = errorResponse(error).status < 500;
      throw error;
    } finally {
      if (!refused) await gitAccess.settleChanges();
    }
  });
  // Before the JSON body parser: git bodies are streamed to git untouched.
  koa.use(gitHttpMiddleware({ ...deps, reposDir: config.reposDir })); // the git routes take what they need of the app's dependencies
  koa.use(api.router.routes());
  koa.use(api.router.allowedMethods({ throw: true }));
  koa.use(docs.routes());
  return { koa, api };
}
