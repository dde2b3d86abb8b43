import type { AuditRow, Queryable } from "./types";

export type NewAuditEvent = Pick<AuditRow, "actor_id" | "actor_name" | "action" | "target" | "details" | "ip">;

export async function insertAuditEvent(db: Queryable, event: NewAuditEvent): Promise<void> {
  await db("audit_events").insert({ ...event, details: event.details === null ? null : JSON.stringify(event.details) });
}

/** Newest first; `before` is the id of the last event of the previous page. */
export async function pageAuditEvents(db: Queryable, limit: number, before?: number): Promise<AuditRow[]> {
  const query = db<AuditRow>("audit_events").orderBy("id", "desc").limit(limit);
  if (before !== undefined) query.where("id", "<", before);
  return query;
}
