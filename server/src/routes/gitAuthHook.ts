import { DomainError } from "../errors";
import { decideAuthHook } from "../git/authHook";
import type { Api } from "../http/api";

/**
 * For an external git server behind nginx `auth_request` (or Traefik forwardAuth). GET is
 * answered before Koa by authHookListener (server.ts), the hot path; this route documents the
 * endpoint and serves what reaches Koa (HEAD), with the same decision.
 */
export function registerGitAuthHookRoute(api: Api): void {
  const { gitAuth } = api.deps;

  api.route({
    method: "get",
    path: "/git/auth",
    summary: "Auth hook for a reverse proxy in front of git http-backend",
    tag: "git",
    auth: "none",
    success: { status: 204, description: "Allowed; X-Clarive-User names the token's owner" },
    errors: [401, 403],
    handler: async ({ ctx }) => {
      const answer = await decideAuthHook(gitAuth, {
        authorization: ctx.get("authorization") || undefined,
        originalUri: ctx.get("x-original-uri") || undefined,
        originalMethod: ctx.get("x-original-method") || undefined,
        peerIp: ctx.ip,
        realIp: ctx.get("x-real-ip") || undefined,
      });
      if (answer.status === 204) {
        ctx.set("X-Clarive-User", answer.user);
        ctx.state.user = answer.user;
        return;
      }
      ctx.set(answer.headers);
      throw new DomainError(answer.status, answer.code, answer.message);
    },
  });
}
