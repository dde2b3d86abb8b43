import type { Knex } from "knex";
import type { AdminTokenState } from "@clarive/shared";
import { NotFoundError, ValidationError } from "../errors";
import { requireAdmin } from "../policies/admin";
import { findTokenWithOwner, pageAllTokens, type InventoryCursor, type InventoryRow } from "../repositories/adminTokens";
import { findRepository } from "../repositories/gitRepositories";
import { getGitSettings } from "../repositories/settings";
import { deleteToken, updateToken } from "../repositories/tokens";
import { audit } from "./audit";
import { withScopes, type TokenView } from "./tokens";
import type { Actor, RequestMeta } from "./types";

const DAY_SECONDS = 24 * 60 * 60;

export interface AdminTokenView extends TokenView {
  username: string;
  exceedsPolicy: boolean;
}

export interface InventoryQuery {
  username?: string | undefined;
  state?: AdminTokenState | undefined;
  expiresBefore?: string | undefined;
  lastUsedBefore?: string | undefined;
  repository?: string | undefined;
  exceedsPolicy?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

// The cursor is opaque to clients: the (created_at to the microsecond, id) of the last row shown.
const encodeCursor = (row: InventoryRow): string => Buffer.from(JSON.stringify([row.created_exact, row.id])).toString("base64url");

function decodeCursor(cursor: string): InventoryCursor {
  try {
    const [createdExact, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof createdExact === "string" && !Number.isNaN(Date.parse(createdExact)) && Number.isSafeInteger(id)) {
      return { createdExact, id: id as number };
    }
  } catch {
    // Refused below, like any other cursor this service did not hand out.
  }
  throw new ValidationError("cursor is not a nextCursor this service gave", { cursor }, "validation_failed");
}

/**
 * Every user's tokens for administrators, newest first, one page at a time; `exceedsPolicy` marks
 * a token whose lifetime is longer than today's maxLifetimeDays (lowering it changes no token).
 */
export async function listAllTokens(
  db: Knex,
  actor: Actor,
  query: InventoryQuery,
  now: Date,
): Promise<{ items: AdminTokenView[]; nextCursor: string | null }> {
  requireAdmin(actor);
  const limit = query.limit ?? 50;
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const maxSeconds = (await getGitSettings(db)).max_lifetime_days * DAY_SECONDS;
  let repositoryId: number | undefined;
  if (query.repository !== undefined) {
    const [project = "", name = ""] = query.repository.split("/");
    const repository = await findRepository(db, project, name);
    if (!repository) throw new NotFoundError(`Repository ${query.repository} not found`, "repository_not_found");
    repositoryId = repository.id;
  }
  const rows = await pageAllTokens(
    db,
    {
      username: query.username,
      state: query.state,
      expiresBefore: query.expiresBefore === undefined ? undefined : new Date(query.expiresBefore),
      lastUsedBefore: query.lastUsedBefore === undefined ? undefined : new Date(query.lastUsedBefore),
      repositoryId,
      exceedsLifetimeSeconds: query.exceedsPolicy === undefined ? undefined : { seconds: maxSeconds, exceeds: query.exceedsPolicy },
    },
    now,
    limit + 1,
    after,
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const views = await withScopes(db, page);
  return {
    items: views.map((view) => ({ ...view, exceedsPolicy: view.issued_lifetime_seconds > maxSeconds })),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}

async function requireAnyToken(db: Knex.Transaction, id: number): Promise<InventoryRow> {
  const token = await findTokenWithOwner(db, id);
  if (!token) throw new NotFoundError(`No token with id ${id}`, "token_not_found");
  return token;
}

/** Deactivates (or reactivates) anyone's token; audited with the admin as actor and the owner as target. */
export async function setAnyTokenActive(db: Knex, actor: Actor, id: number, active: boolean, meta: RequestMeta): Promise<AdminTokenView> {
  requireAdmin(actor);
  return db.transaction(async (trx) => {
    const before = await requireAnyToken(trx, id);
    await updateToken(trx, id, { active });
    if (before.active !== active) {
      await audit(trx, actor, active ? "token.activated" : "token.deactivated", `user:${before.username}`, meta, {
        tokenId: id,
        description: before.description,
        byAdministrator: true,
      });
    }
    const [view] = await withScopes(trx, [await requireAnyToken(trx, id)]);
    const maxSeconds = (await getGitSettings(trx)).max_lifetime_days * DAY_SECONDS;
    if (!view) throw new Error(`token ${id} vanished while it was updated`);
    return { ...view, exceedsPolicy: view.issued_lifetime_seconds > maxSeconds };
  });
}

/** Removes anyone's token; audited with the admin as actor and the owner as target. */
export async function deleteAnyToken(db: Knex, actor: Actor, id: number, meta: RequestMeta): Promise<void> {
  requireAdmin(actor);
  await db.transaction(async (trx) => {
    const token = await requireAnyToken(trx, id);
    await deleteToken(trx, id);
    await audit(trx, actor, "token.deleted", `user:${token.username}`, meta, {
      tokenId: id,
      description: token.description,
      byAdministrator: true,
    });
  });
}
