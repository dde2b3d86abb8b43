import type { Api } from "../http/api";

/**
 * For an external git server behind nginx `auth_request` (or Traefik forwardAuth). Served
 * before Koa by http/authHook.ts, the hot path; only documented here.
 */
export function registerGitAuthHookRoute(api: Api): void {
  api.document({
    method: "get",
    path: "/git/auth",
    summary: "Auth hook for a reverse proxy in front of git http-backend",
    tag: "git",
    auth: "none",
    success: { status: 204, description: "Allowed; X-Clarive-User names the token's owner" },
    errors: [401, 403],
  });
}
