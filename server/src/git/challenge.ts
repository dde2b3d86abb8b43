import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { clientAddress } from "../http/clientAddress";
import type { GitAccess, GitAccessDecision } from "../gitAccess";
import { logWhenDone, pathForLog } from "../middleware/requestLog";
import { gitBodyProblem, parseGitRequest, type GitRequestTarget } from "./gitPath";
import { BASIC_CHALLENGE } from "./routes";

export interface GitChallengeDeps {
  gitAccess: GitAccess;
  logger: Logger;
  trustProxy: boolean;
}

/**
 * git's first request of every command carries no credentials (curl asks for the scheme
 * first, even with them in the URL) and gets the 401 challenge: a third of a no-op fetch's
 * requests. Those are answered here, from Node's HTTP layer, with what the Koa route
 * (routes.ts) answers: the same parse, the same body check, the same decision (gitAccess says
 * 401), the same text body, header and log line. Anything else (credentials sent, a path or
 * body the route refuses first, an absolute-form URL) is not recognised and goes to Koa.
 */
export function anonymousGitRequest(req: IncomingMessage): GitRequestTarget | undefined {
  const url = req.url;
  if (url === undefined || !url.startsWith("/git/") || req.headers.authorization) return undefined;
  const question = url.indexOf("?");
  const path = question < 0 ? url : url.slice(0, question);
  const parsed = parseGitRequest(path, req.method ?? "GET", question < 0 ? "" : url.slice(question + 1));
  if (!parsed.ok) return undefined;
  const type = req.headers["content-type"] || undefined;
  const encoding = req.headers["content-encoding"] || undefined;
  return gitBodyProblem(parsed.target, type, encoding) ? undefined : parsed.target;
}

/** Answers a request anonymousGitRequest recognised; `fallback` (Koa) gets any other decision. */
export function gitChallengeListener(
  deps: GitChallengeDeps,
  fallback: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse, target: GitRequestTarget) => void {
  return (req, res, target) => {
    const started = performance.now();
    const ip = clientAddress(req, deps.trustProxy);
    const answer = (decision: GitAccessDecision) => {
      if (decision.ok || decision.status !== 401) return fallback(req, res); // never without credentials
      logWhenDone(deps.logger, res, started, () => ({
        method: req.method ?? "GET",
        path: pathForLog(req.url?.split("?")[0] ?? ""),
        ip,
        user: null,
        error: "git_401",
      }));
      const body = `${decision.message}\n`;
      res.writeHead(401, {
        "WWW-Authenticate": BASIC_CHALLENGE,
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body); // GET or POST: parseGitRequest refuses any other method
      req.resume(); // a POST's body, unread: drained so the connection can be kept alive
    };
    try {
      const decision = deps.gitAccess.authorize({
        authorization: undefined,
        project: target.project,
        repository: target.repository,
        write: target.write,
        ip: ip || null,
      });
      if (decision instanceof Promise) decision.then(answer, () => fallback(req, res));
      else answer(decision);
    } catch {
      fallback(req, res);
    }
  };
}
