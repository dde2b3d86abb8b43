import type { Knex } from "knex";
import { generatePersonalAccessToken, resolveExpiry, secretHint, type CreateTokenRequest, type UpdateTokenRequest } from "@clarive/shared";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { normalizeAllowList } from "../gitAccess/ipAllowList";
import { sha256Hex } from "../lib/hash";
import { anyRepositoryWithPatAccessOn, findRepository, membershipAccess } from "../repositories/gitRepositories";
import { getGitSettings } from "../repositories/settings";
import {
  deleteToken,
  findTokenOfUser,
  insertToken,
  listTokensOfUser,
  recentIpsOfTokens,
  replaceTokenScope,
  rotateTokenSecret,
  scopesOfTokens,
  updateToken,
  type RecentIpRow,
} from "../repositories/tokens";
import type { Queryable, TokenRow } from "../repositories/types";
import { audit, type AuditAction } from "./audit";
import type { Actor, RequestMeta } from "./types";

export interface TokenView extends TokenRow {
  repositories: string[];
  recentIps: RecentIpRow[];
}

async function withScope(db: Queryable, row: TokenRow): Promise<TokenView> {
  const [view] = await withScopes(db, [row]);
  return view ?? { ...row, repositories: [], recentIps: [] };
}

export async function withScopes<R extends TokenRow>(db: Queryable, rows: R[]): Promise<(R & TokenView)[]> {
  const ids = rows.map((r) => r.id);
  const [scopes, recent] = [await scopesOfTokens(db, ids), await recentIpsOfTokens(db, ids)];
  return rows.map((r) => ({ ...r, repositories: scopes.get(r.id) ?? [], recentIps: recent.get(r.id) ?? [] }));
}

/** The allow-list in normal form; an entry that is not an address or CIDR range is refused by name. */
function resolveAllowList(entries: string[]): string[] {
  const list = normalizeAllowList(entries);
  if (!list.ok) throw new ValidationError(list.message, { allowedIps: entries }, "validation_failed");
  return list.entries;
}

async function requireOwnToken(db: Queryable, actor: Actor, id: number): Promise<TokenRow> {
  // Another user's token id answers exactly like a missing one: ids must not leak who owns what.
  const token = await findTokenOfUser(db, actor.id, id);
  if (!token) throw new NotFoundError(`No token with id ${id}`, "token_not_found");
  return token;
}

/**
 * Turns "project/name" entries into repository ids, refusing any that does not exist or
 * that the owner cannot reach. An empty list means every repository the owner can reach.
 */
async function resolveScope(db: Queryable, actor: Actor, entries: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const entry of new Set(entries)) {
    const [project = "", name = ""] = entry.split("/");
    const repository = await findRepository(db, project, name);
    const reachable = repository !== undefined && (actor.isAdmin || (await membershipAccess(db, actor.id, repository.id)) !== null);
    if (!repository || !reachable) {
      throw new ValidationError(
        `Repository "${entry}" does not exist or you have no access to it`,
        { repository: entry },
        "invalid_repository_scope",
      );
    }
    ids.push(repository.id);
  }
  return ids;
}

export async function listOwnTokens(db: Knex, actor: Actor): Promise<TokenView[]> {
  return withScopes(db, await listTokensOfUser(db, actor.id));
}

export async function getOwnToken(db: Knex, actor: Actor, id: number): Promise<TokenView> {
  return withScope(db, await requireOwnToken(db, actor, id));
}

export async function createToken(
  db: Knex,
  actor: Actor,
  input: CreateTokenRequest,
  meta: RequestMeta,
  now = new Date(),
): Promise<{ view: TokenView; token: string }> {
  if ((input.expiresInDays === undefined) === (input.expiresAt === undefined)) {
    throw new ValidationError("Give exactly one of expiresInDays or expiresAt", undefined, "invalid_expiration");
  }
  return db.transaction(async (trx) => {
    const settings = await getGitSettings(trx);
    if (!settings.pat_auth_enabled && !(await anyRepositoryWithPatAccessOn(trx))) {
      throw new ForbiddenError(
        "Personal access token authentication is turned off on this server (globally and for every repository); ask an administrator to enable it",
        "pat_auth_disabled",
      );
    }
    const expiry = resolveLifetime(input, settings.max_lifetime_days, now);
    const repositoryIds = await resolveScope(trx, actor, input.repositories ?? []);
    const allowedIps = resolveAllowList(input.allowedIps ?? []);
    const token = generatePersonalAccessToken();
    const row = await insertToken(trx, {
      user_id: actor.id,
      description: input.description,
      permission: input.permission,
      all_repositories: repositoryIds.length === 0,
      token_hash: sha256Hex(token),
      token_hint: secretHint(token),
      expires_at: expiry.expiresAt,
      lifetime_seconds: expiry.lifetimeSeconds,
      allowed_ips: allowedIps,
    });
    await replaceTokenScope(trx, row.id, repositoryIds);
    const view = await withScope(trx, row);
    await audit(trx, actor, "token.created", `token:${row.id}`, meta, {
      description: row.description,
      permission: row.permission,
      repositories: view.repositories,
      expiresAt: row.expires_at.toISOString(),
      ...(allowedIps.length > 0 && { allowedIps }),
    });
    return { view, token };
  });
}

/**
 * The expiry of `expiresInDays` or `expiresAt` (exactly one), within MIN_EXPIRY_DAYS and
 * maxLifetimeDays of `now`, exactly; the lifetime it gives the token.
 */
function resolveLifetime(
  input: { expiresInDays?: number | undefined; expiresAt?: string | undefined },
  maxLifetimeDays: number,
  now: Date,
): { expiresAt: Date; lifetimeSeconds: number } {
  if ((input.expiresInDays === undefined) === (input.expiresAt === undefined)) {
    throw new ValidationError("Give exactly one of expiresInDays or expiresAt", undefined, "invalid_expiration");
  }
  const expiry = resolveExpiry(
    input.expiresInDays !== undefined ? { expiresInDays: input.expiresInDays } : { expiresAt: new Date(input.expiresAt as string) },
    maxLifetimeDays,
    now,
  );
  if (!expiry.ok) throw new ValidationError(expiry.message, undefined, "invalid_expiration");
  return { expiresAt: expiry.expiresAt, lifetimeSeconds: Math.round((expiry.expiresAt.getTime() - now.getTime()) / 1000) };
}

export async function updateOwnToken(
  db: Knex,
  actor: Actor,
  id: number,
  changes: UpdateTokenRequest,
  meta: RequestMeta,
  now = new Date(),
): Promise<TokenView> {
  if (Object.values(changes).every((v) => v === undefined)) {
    throw new ValidationError("Nothing to change: give description, repositories, permission, allowedIps, an expiry and/or active");
  }
  const changesExpiry = changes.expiresInDays !== undefined || changes.expiresAt !== undefined;
  return db.transaction(async (trx) => {
    const before = await requireOwnToken(trx, actor, id);
    // A new expiry starts a new lifetime from now, bounded by today's policy like a new token's.
    const expiry = changesExpiry ? resolveLifetime(changes, (await getGitSettings(trx)).max_lifetime_days, now) : undefined;
    const repositoryIds = changes.repositories === undefined ? undefined : await resolveScope(trx, actor, changes.repositories);
    const allowedIps = changes.allowedIps === undefined ? undefined : resolveAllowList(changes.allowedIps);
    const row = await updateToken(trx, id, {
      ...(allowedIps !== undefined && { allowed_ips: allowedIps }),
      ...(expiry && { expires_at: expiry.expiresAt, lifetime_seconds: expiry.lifetimeSeconds }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.permission !== undefined && { permission: changes.permission }),
      ...(changes.active !== undefined && { active: changes.active }),
      ...(repositoryIds !== undefined && { all_repositories: repositoryIds.length === 0 }),
    });
    if (repositoryIds !== undefined) await replaceTokenScope(trx, id, repositoryIds);
    const view = await withScope(trx, row);
    const { active, expiresInDays: _days, expiresAt: _at, ...rest } = changes;
    const edits = {
      ...rest,
      ...(allowedIps !== undefined && { allowedIps }),
      ...(expiry && { expiresAt: expiry.expiresAt.toISOString() }),
    };
    if (active !== undefined && active !== before.active) {
      const action: AuditAction = active ? "token.activated" : "token.deactivated";
      await audit(trx, actor, action, `token:${id}`, meta);
    }
    if (Object.values(edits).some((v) => v !== undefined)) {
      await audit(trx, actor, "token.updated", `token:${id}`, meta, edits);
    }
    return view;
  });
}

export async function deleteOwnToken(db: Knex, actor: Actor, id: number, meta: RequestMeta): Promise<void> {
  await db.transaction(async (trx) => {
    const token = await requireOwnToken(trx, actor, id);
    await deleteToken(trx, token.id);
    await audit(trx, actor, "token.deleted", `token:${id}`, meta, { description: token.description });
  });
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * A new secret for the same token (id, description, scope, permission). The old secret keeps
 * working for `graceMinutes`, then is refused and any later use is recorded as reuse; the
 * token's lifetime starts over, capped by maxLifetimeDays.
 */
export async function rotateOwnToken(
  db: Knex,
  actor: Actor,
  id: number,
  graceMinutes: number,
  meta: RequestMeta,
  now: Date,
): Promise<{ view: TokenView; token: string }> {
  return db.transaction(async (trx) => {
    const before = await requireOwnToken(trx, actor, id);
    const settings = await getGitSettings(trx);
    const original = before.lifetime_seconds ?? Math.round((before.expires_at.getTime() - before.created_at.getTime()) / 1000);
    const lifetimeSeconds = Math.min(original, settings.max_lifetime_days * DAY_SECONDS);
    const token = generatePersonalAccessToken();
    const row = await rotateTokenSecret(trx, before, {
      tokenHash: sha256Hex(token),
      tokenHint: secretHint(token),
      expiresAt: new Date(now.getTime() + lifetimeSeconds * 1000),
      lifetimeSeconds,
      now,
      validUntil: new Date(now.getTime() + graceMinutes * 60_000),
    });
    await audit(trx, actor, "token.rotated", `token:${id}`, meta, { graceMinutes, expiresAt: row.expires_at.toISOString() });
    return { view: await withScope(trx, row), token };
  });
}
