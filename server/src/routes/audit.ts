import { presentAuditEvent } from "../presenters";
import { AuditPageSchema, AuditQuery } from "../schemas/audit";
import { listAuditEvents } from "../services/audit";
import type { Api } from "../http/api";

export function registerAuditRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "get",
    path: "/audit",
    summary: "Audit events, newest first (admin)",
    tag: "audit",
    auth: "user",
    query: AuditQuery,
    success: { status: 200, description: "One page of events", schema: AuditPageSchema },
    errors: [403],
    handler: async ({ caller, query }) => {
      const page = await listAuditEvents(db, caller, query.limit ?? 50, query.before);
      return { items: page.items.map(presentAuditEvent), nextCursor: page.nextCursor };
    },
  });
}
