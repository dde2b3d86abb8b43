import Koa from "koa";
import Router from "@koa/router";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { ServiceConfig } from "./config";
import { Api } from "./http/api";
import { errorMiddleware } from "./middleware/errors";
import { requestLogMiddleware } from "./middleware/requestLog";
import type { GitProcessHost } from "./git/processHost";
import { gitHttpMiddleware } from "./git/routes";
import { registerAuditRoutes } from "./routes/audit";
import { registerGitAuthHookRoute } from "./routes/gitAuthHook";
import type { GitAuthenticator } from "./services/gitAuth";
import { registerAuthRoutes } from "./routes/auth";
import { registerDocsRoutes } from "./routes/docs";
import { registerRepositoryRoutes } from "./routes/repositories";
import { registerSettingsRoutes } from "./routes/settings";
import { registerTokenRoutes } from "./routes/tokens";
import { registerUserRoutes } from "./routes/users";

const READ_ONLY_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface AppDeps {
  db: Knex;
  config: ServiceConfig;
  logger: Logger;
  gitAuth: GitAuthenticator;
  gitHost: GitProcessHost;
}

export interface App {
  koa: Koa;
  api: Api;
}

export function createApp({ db, config, logger, gitAuth, gitHost }: AppDeps): App {
  const api = new Api({ db, config, gitAuth });
  registerAuthRoutes(api);
  registerSettingsRoutes(api);
  registerRepositoryRoutes(api);
  registerUserRoutes(api);
  registerTokenRoutes(api);
  registerAuditRoutes(api);
  registerGitAuthHookRoute(api);

  const docs = new Router();
  registerDocsRoutes(docs, api);

  // Behind a proxy every client would otherwise share the proxy's address: one login-throttle
  // counter for everybody, and the proxy recorded as each token's last-used address.
  const koa = new Koa({ proxy: config.trustProxy });
  koa.use(requestLogMiddleware(logger));
  koa.use(errorMiddleware(logger));
  koa.use(async (ctx, next) => {
    await next();
    // Before the response goes out: the client's next git request must see what it just changed.
    if (ctx.path.startsWith("/api/") && !READ_ONLY_METHODS.has(ctx.method)) gitAuth.forgetCachedAuth();
  });
  // Before the JSON body parser: git bodies are streamed to git untouched.
  koa.use(gitHttpMiddleware({ reposDir: config.reposDir, gitAuth, gitHost, logger }));
  koa.use(api.router.routes());
  koa.use(api.router.allowedMethods({ throw: true }));
  koa.use(docs.routes());
  return { koa, api };
}
