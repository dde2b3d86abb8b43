import type { Context, Middleware } from "koa";
import type { Logger } from "pino";
import type { GitAccess, GitAccessDecision } from "../gitAccess";
import { databaseUnavailable } from "../middleware/errors";
import { gitBodyProblem, parseGitRequest, type GitService } from "./gitPath";
import type { AdvertisementCache } from "./advertisementCache";
import type { RefListCache } from "./refListCache";
import { serveGit } from "./httpBackend";
import type { Housekeeping } from "./housekeeping";
import type { GitProcessHost } from "./processHost";
import type { PushProtection, PushRegistration } from "./pushProtection";
import { bareRepositoryPath, isBareRepositoryFolder } from "../lib/bareRepository";

const GIT_PREFIX = "/git/";
/** The challenge git answers by sending the user's credentials (DESIGN §5). */
export const BASIC_CHALLENGE = 'Basic realm="Clarive"';

/**
 * git speaks plain text: on a 403, git prints a text/plain body as "remote: …" lines, which is
 * how a user learns *why* a push was refused.
 */
function refuse(ctx: Context, status: number, message: string, headers: Record<string, string> = {}): void {
  ctx.status = status;
  ctx.set(headers);
  ctx.type = "text/plain; charset=utf-8";
  ctx.body = `${message}\n`;
}

/**
 * A database that cannot be reached fails closed, in words git shows ("remote: …"), not a 500
 * for every request of an outage; any other error goes on to the error middleware.
 */
function refuseIfUnavailable(ctx: Context, error: unknown): void {
  const unavailable = databaseUnavailable(error);
  if (!unavailable) throw error;
  ctx.state.errorCode = unavailable.code;
  refuse(ctx, unavailable.status, unavailable.message, { "Retry-After": String(unavailable.retryAfterSeconds) });
}

/** Smart HTTP at /git/<project>/<repo>[.git]/…: authenticate, authorise, then hand over to git. */
export function gitHttpMiddleware(deps: {
  reposDir: string;
  gitAccess: GitAccess;
  gitHost: GitProcessHost;
  pushProtection: PushProtection;
  housekeeping?: Housekeeping | undefined;
  /** git's answers kept while what they are read from is unchanged; without them git answers each request. */
  advertisements?: AdvertisementCache | undefined;
  refLists?: RefListCache | undefined;
  logger: Logger;
  /** Bytes in and out of each request git served (GET /metrics). */
  onGitTraffic?: ((service: GitService, received: number, sent: number) => void) | undefined;
}): Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith(GIT_PREFIX)) {
      await next();
      return;
    }
    const parsed = parseGitRequest(ctx.path, ctx.method, ctx.querystring);
    if (!parsed.ok) return refuse(ctx, parsed.status, parsed.message);
    const { target } = parsed;
    const bodyProblem = gitBodyProblem(target, ctx.get("content-type") || undefined, ctx.get("content-encoding") || undefined);
    if (bodyProblem) return refuse(ctx, bodyProblem.status, bodyProblem.message);
    let decision: GitAccessDecision;
    try {
      decision = await deps.gitAccess.authorize({
        authorization: ctx.get("authorization") || undefined,
        project: target.project,
        repository: target.repository,
        write: target.write,
        ip: ctx.ip || null,
      });
    } catch (error) {
      return refuseIfUnavailable(ctx, error);
    }
    if (!decision.ok) {
      ctx.state.errorCode = `git_${decision.status}`;
      const headers: Record<string, string> =
        decision.status === 401
          ? { "WWW-Authenticate": BASIC_CHALLENGE }
          : decision.status === 429
            ? { "Retry-After": String(decision.retryAfterSeconds ?? 60) }
            : {};
      return refuse(ctx, decision.status, decision.message, headers);
    }
    ctx.state.user = decision.username;
    // Its folder gone or replaced by a file behind the database's back: git would answer an empty 500.
    if (!(await isBareRepositoryFolder(bareRepositoryPath(deps.reposDir, target.project, target.repository)))) {
      deps.logger.warn({ repository: `${target.project}/${target.repository}` }, "repository folder missing or not a git repository");
      return refuse(ctx, 404, "Repository not found");
    }
    // The push itself (not its advertisement): git runs our pre-receive hook for it. Prepared
    // while Koa still answers, so a database outage here is a 503 git shows, not a hang.
    let push: PushRegistration | undefined;
    if (target.write && target.endpoint === "git-receive-pack") {
      try {
        push = await deps.pushProtection.register(
          {
            project: target.project,
            repository: target.repository,
            repositoryPath: bareRepositoryPath(deps.reposDir, target.project, target.repository),
            pusher: decision.username,
            ip: ctx.ip || null,
          },
          { id: decision.tokenId, expiresAt: decision.expiresAt },
        );
      } catch (error) {
        return refuseIfUnavailable(ctx, error);
      }
    }
    ctx.respond = false;
    try {
      await serveGit({
        req: ctx.req,
        res: ctx.res,
        reposDir: deps.reposDir,
        target,
        remoteUser: decision.username,
        remoteAddr: ctx.ip,
        host: deps.gitHost,
        logger: deps.logger,
        onTraffic: deps.onGitTraffic && ((received, sent) => deps.onGitTraffic?.(target.service, received, sent)),
        hookEnv: push?.env,
        precheck: push?.precheck,
        advertisements: deps.advertisements,
        refLists: deps.refLists,
        housekeeping: deps.housekeeping,
      });
    } finally {
      push?.done();
    }
  };
}
