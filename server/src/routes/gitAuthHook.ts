import { DomainError, ForbiddenError, UnauthenticatedError } from "../errors";
import { parseGitRequest } from "../git/gitPath";
import { BASIC_CHALLENGE } from "../git/routes";
import { z } from "../schemas/zod";
import type { Api } from "../http/api";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** The proxy's X-Real-IP names the git client, but is believed only from a proxy on this host. */
function clientIp(peer: string, realIp: string): string | null {
  return realIp && LOOPBACK.test(peer) ? realIp : peer || null;
}

const HookHeaders = z.object({
  "x-original-uri": z.string().min(1).max(8192),
  "x-original-method": z.string().min(1).max(16).optional(),
});

/**
 * For an external git server behind nginx `auth_request` (or Traefik forwardAuth): the same
 * decision as /git/, answered as 204 (allowed, with X-Clarive-User), 401 or 403 — the only
 * statuses auth_request understands, so "no such repository" and "throttled" become 403.
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
      const headers = HookHeaders.safeParse(ctx.headers);
      if (!headers.success) throw new ForbiddenError("X-Original-URI is required", "missing_original_uri");
      const uri = new URL(headers.data["x-original-uri"], "http://hook.invalid");
      const method = (headers.data["x-original-method"] ?? "GET").toUpperCase();
      const parsed = parseGitRequest(uri.pathname, method, uri.searchParams.get("service") ?? undefined);
      if (!parsed.ok) throw new ForbiddenError(parsed.message, "not_a_git_request");
      const decision = await gitAuth.authorize({
        authorization: ctx.get("authorization") || undefined,
        project: parsed.target.project,
        repository: parsed.target.repository,
        write: parsed.target.write,
        ip: clientIp(ctx.ip, ctx.get("x-real-ip")),
      });
      if (decision.ok) {
        ctx.set("X-Clarive-User", decision.username);
        ctx.state.user = decision.username;
        return;
      }
      // One line for the proxy to show git (nginx: auth_request_set + error_page).
      ctx.set("X-Clarive-Reason", decision.message);
      if (decision.status === 401) {
        ctx.set("WWW-Authenticate", BASIC_CHALLENGE);
        throw new UnauthenticatedError(decision.message, "git_unauthenticated");
      }
      if (decision.status === 429) ctx.set("Retry-After", String(decision.retryAfterSeconds ?? 60));
      throw new DomainError(403, decision.status === 404 ? "repository_not_found" : "git_forbidden", decision.message);
    },
  });
}
