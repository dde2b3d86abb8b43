import { insertAuditEvent, pageAuditEvents } from "../repositories/audit";
import type { AuditRow, Queryable } from "../repositories/types";
import { requireAdmin } from "../policies/admin";
import type { Actor, RequestMeta } from "./types";

export type AuditAction =
  | "login.succeeded"
  | "login.failed"
  | "logout"
  | "user.created"
  | "user.updated"
  | "settings.updated"
  | "repository.created"
  | "repository.deleted"
  | "repository.pat_access_changed"
  | "repository.push_protection_changed"
  | "membership.set"
  | "membership.removed"
  | "token.created"
  | "token.updated"
  | "token.activated"
  | "token.deactivated"
  | "token.deleted"
  | "token.revoked_by_report"
  | "token.rotated"
  | "token.reuse_detected"
  | "token.used_from_new_ip"
  | "token.leaked_in_push"
  | "git.auth_failed";

/**
 * Records one audit event in the caller's transaction, so the event exists exactly when
 * the change does. Details must never hold a secret: callers pass ids, names and flags only.
 */
export function audit(
  db: Queryable,
  actor: Pick<Actor, "id" | "username"> | { id: null; username: string } | null,
  action: AuditAction,
  target: string | null,
  meta: RequestMeta,
  details: Record<string, unknown> | null = null,
): Promise<void> {
  return insertAuditEvent(db, {
    actor_id: actor?.id ?? null,
    actor_name: actor?.username ?? null,
    action,
    target,
    details,
    ip: meta.ip,
  });
}

/** One page of events, newest first, for administrators. */
export async function listAuditEvents(
  db: Queryable,
  actor: Actor,
  limit: number,
  before: number | undefined,
): Promise<{ items: AuditRow[]; nextCursor: number | null }> {
  requireAdmin(actor);
  const items = await pageAuditEvents(db, limit, before);
  const last = items.at(-1);
  return { items, nextCursor: items.length === limit && last ? last.id : null };
}
