import { ForbiddenError } from "../errors";
import type { Actor } from "../services/types";

/** The one check for administrator-only operations. */
export function requireAdmin(actor: Actor): void {
  if (!actor.isAdmin) throw new ForbiddenError("Only administrators may do this", "admin_required");
}
