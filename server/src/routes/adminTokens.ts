import type { AdminTokenDto } from "@clarive/shared";
import { presentToken } from "../presenters";
import { AdminTokenPageSchema, AdminTokenQuery, AdminTokenSchema, AdminUpdateTokenBody } from "../schemas/adminTokens";
import { IdParams } from "../schemas/common";
import { deleteAnyToken, listAllTokens, setAnyTokenActive, type AdminTokenView } from "../services/adminTokens";
import type { Api } from "../http/api";

const presentAdminToken = (view: AdminTokenView, now: Date): AdminTokenDto => ({
  ...presentToken(view, now),
  username: view.username,
  exceedsPolicy: view.exceedsPolicy,
});

/** The token inventory for administrators (issue 11): every user's tokens, never a secret. */
export function registerAdminTokenRoutes(api: Api): void {
  const { db, clock } = api.deps;

  api.route({
    method: "get",
    path: "/admin/tokens",
    operationId: "listAllTokens",
    summary: "Every user's tokens, filtered, a page at a time (administrators)",
    description:
      "The inventory of personal access tokens across all users, newest first, each with its owner's `username` and `exceedsPolicy` (a lifetime longer than today's `maxLifetimeDays`). Filters combine: `username`, `state`, `expiresBefore`, `lastUsedBefore` (never-used tokens match too), `repository` (tokens that can reach it), `exceedsPolicy`. Pages of `limit` (at most 200); pass `nextCursor` back as `cursor` for the next one. Never shows a secret. 403 `admin_required` for anyone else.",
    tag: "admin",
    auth: "user",
    query: AdminTokenQuery,
    success: { status: 200, description: "One page, newest first", schema: AdminTokenPageSchema },
    errors: ["admin_required", "repository_not_found"],
    handler: async ({ caller, query }) => {
      const now = new Date(clock.now());
      const page = await listAllTokens(db, caller, query, now);
      return { items: page.items.map((t) => presentAdminToken(t, now)), nextCursor: page.nextCursor };
    },
  });

  api.route({
    method: "patch",
    path: "/admin/tokens/{id}",
    operationId: "setAnyTokenActive",
    summary: "Deactivate or reactivate anyone's token (administrators)",
    description:
      'Deactivates (`{"active": false}`) or reactivates any user\'s token. Takes effect on every instance before the answer (the next git request is refused with 401). Audited as `token.deactivated`/`token.activated` with the administrator as actor and `user:<owner>` as target.',
    tag: "admin",
    auth: "user",
    params: IdParams,
    body: AdminUpdateTokenBody,
    examples: { deactivate: { summary: "Deactivate a leaked token", value: { active: false } } },
    success: { status: 200, description: "The token as it is now", schema: AdminTokenSchema },
    errors: ["admin_required", "token_not_found"],
    handler: async ({ caller, params, body, meta }) =>
      presentAdminToken(await setAnyTokenActive(db, caller, params.id, body.active, meta), new Date(clock.now())),
  });

  api.route({
    method: "delete",
    path: "/admin/tokens/{id}",
    operationId: "deleteAnyToken",
    summary: "Remove anyone's token (administrators)",
    description:
      "Deletes any user's token for good; git refuses it on every instance before the answer. Audited as `token.deleted` with the administrator as actor and `user:<owner>` as target. A deleted token's secret is still recognised, so a job retrying with it never locks its owner out.",
    tag: "admin",
    auth: "user",
    params: IdParams,
    success: { status: 204, description: "Removed" },
    errors: ["admin_required", "token_not_found"],
    handler: ({ caller, params, meta }) => deleteAnyToken(db, caller, params.id, meta),
  });
}
