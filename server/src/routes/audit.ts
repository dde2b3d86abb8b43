import { presentAuditEvent } from "../presenters";
import { AuditPageSchema, AuditQuery } from "../schemas/audit";
import { listAuditEvents } from "../services/audit";
import type { Api } from "../http/api";

export function registerAuditRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "get",
    path: "/audit",
    operationId: "listAuditEvents",
    summary: "Audit events, newest first (admin)",
    description:
      "Security-relevant events (logins, token, user, repository and settings changes), newest first. Administrators only. For the next page pass the answer's `nextCursor` as `before`; it is null on the last page.",
    tag: "audit",
    auth: "user",
    query: AuditQuery,
    success: { status: 200, description: "One page of events", schema: AuditPageSchema },
    errors: ["admin_required"],
    handler: async ({ caller, query }) => {
      const page = await listAuditEvents(db, caller, query.limit ?? 50, query.before);
      return { items: page.items.map(presentAuditEvent), nextCursor: page.nextCursor };
    },
  });
}
