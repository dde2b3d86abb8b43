import type { Api } from "../http/api";
import { GitAuthHookHeaders } from "../schemas/gitAuthHook";

/**
 * For an external git server behind nginx `auth_request` (or Traefik forwardAuth). Served
 * before Koa by http/authHook.ts, the hot path; only documented here.
 */
export function registerGitAuthHookRoute(api: Api): void {
  api.document({
    method: "get",
    path: "/git/auth",
    operationId: "authorizeGitRequest",
    summary: "Auth hook for a reverse proxy in front of git http-backend",
    description:
      "Decides a git request that a reverse proxy holds, with the same rules as the service's own /git/ routes: the proxy " +
      "forwards the client's `Authorization` (HTTP Basic with a personal access token as the password) and tells the request's " +
      "URI and method. 204 lets it through and names the token's owner in `X-Clarive-User`; 401 and 403 are the only refusals " +
      "nginx passes on, so an unknown repository, throttling and a database out of reach answer 403 too, with the reason in `X-Clarive-Reason`.",
    tag: "git",
    auth: "pat",
    headers: GitAuthHookHeaders,
    success: { status: 204, description: "Allowed; X-Clarive-User names the token's owner" },
    errors: [
      "git_unauthenticated",
      {
        status: 403,
        codes: [
          "git_forbidden",
          "git_throttled",
          "repository_not_found",
          "not_a_git_request",
          "missing_original_uri",
          "invalid_original_method",
          "database_unavailable",
        ],
      },
    ],
  });
}
