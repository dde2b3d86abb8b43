import type { Queryable, TokenRow } from "./types";

export type NewTokenRow = Pick<
  TokenRow,
  | "user_id"
  | "description"
  | "permission"
  | "all_repositories"
  | "token_hash"
  | "token_hint"
  | "expires_at"
  | "lifetime_seconds"
  | "allowed_ips"
>;

export async function insertToken(db: Queryable, token: NewTokenRow): Promise<TokenRow> {
  const [row] = await db<TokenRow>("personal_access_tokens").insert(token).returning("*");
  return row as TokenRow;
}

export const listTokensOfUser = (db: Queryable, userId: number): Promise<TokenRow[]> =>
  db<TokenRow>("personal_access_tokens").where({ user_id: userId }).orderBy("created_at", "desc").orderBy("id", "desc");

export const findTokenOfUser = (db: Queryable, userId: number, id: number): Promise<TokenRow | undefined> =>
  db<TokenRow>("personal_access_tokens").where({ id, user_id: userId }).first();

export async function updateToken(
  db: Queryable,
  id: number,
  changes: Partial<
    Pick<TokenRow, "description" | "permission" | "all_repositories" | "active" | "allowed_ips" | "expires_at" | "lifetime_seconds">
  >,
): Promise<TokenRow> {
  const [row] = await db<TokenRow>("personal_access_tokens")
    .where({ id })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning("*");
  return row as TokenRow;
}

export async function deleteToken(db: Queryable, id: number): Promise<void> {
  await db("personal_access_tokens").where({ id }).delete();
}

export async function replaceTokenScope(db: Queryable, tokenId: number, repositoryIds: number[]): Promise<void> {
  await db("personal_access_token_repositories").where({ token_id: tokenId }).delete();
  if (repositoryIds.length > 0) {
    await db("personal_access_token_repositories").insert(repositoryIds.map((repository_id) => ({ token_id: tokenId, repository_id })));
  }
}

/** "project/name" of each token's scoped repositories, keyed by token id. */
export async function scopesOfTokens(db: Queryable, tokenIds: number[]): Promise<Map<number, string[]>> {
  const scopes = new Map<number, string[]>(tokenIds.map((id) => [id, []]));
  if (tokenIds.length === 0) return scopes;
  const rows: { token_id: number; full_name: string }[] = await db("personal_access_token_repositories as s")
    .join("repositories as r", "r.id", "s.repository_id")
    .join("projects as p", "p.id", "r.project_id")
    .whereIn("s.token_id", tokenIds)
    .orderBy(["p.name", "r.name"])
    .select("s.token_id", db.raw("p.name || '/' || r.name as full_name"));
  for (const row of rows) scopes.get(row.token_id)?.push(row.full_name);
  return scopes;
}

export interface RecentIpRow {
  ip: string;
  last_used_at: Date;
}

/** Each token's last distinct client addresses (at most 5 are kept), most recent first. */
export async function recentIpsOfTokens(db: Queryable, tokenIds: number[]): Promise<Map<number, RecentIpRow[]>> {
  const recent = new Map<number, RecentIpRow[]>(tokenIds.map((id) => [id, []]));
  if (tokenIds.length === 0) return recent;
  const rows: (RecentIpRow & { token_id: number })[] = await db("personal_access_token_ips")
    .whereIn("token_id", tokenIds)
    .orderBy([
      { column: "last_used_at", order: "desc" },
      { column: "ip", order: "asc" },
    ])
    .select("token_id", "ip", "last_used_at");
  for (const row of rows) recent.get(row.token_id)?.push({ ip: row.ip, last_used_at: row.last_used_at });
  return recent;
}

/**
 * Gives a token a new secret: the old one is kept as retired (usable until `validUntil`),
 * and the lifetime starts over at `expiresAt`.
 */
export async function rotateTokenSecret(
  db: Queryable,
  token: Pick<TokenRow, "id" | "token_hash">,
  next: { tokenHash: string; tokenHint: string; expiresAt: Date; lifetimeSeconds: number; now: Date; validUntil: Date },
): Promise<TokenRow> {
  await db("personal_access_token_retired_secrets").insert({
    token_hash: token.token_hash,
    token_id: token.id,
    retired_at: next.now,
    valid_until: next.validUntil,
  });
  const [row] = await db<TokenRow>("personal_access_tokens")
    .where({ id: token.id })
    .update({
      token_hash: next.tokenHash,
      token_hint: next.tokenHint,
      expires_at: next.expiresAt,
      lifetime_seconds: next.lifetimeSeconds,
      rotated_at: next.now,
      updated_at: next.now,
    })
    .returning("*");
  if (!row) throw new Error(`token ${token.id} vanished while it was rotated`);
  return row;
}

/** Marks that a rotated-out secret was presented after its window (the owner sees it). */
export async function markReuseDetected(db: Queryable, tokenId: number, at: Date): Promise<void> {
  await db("personal_access_tokens").where({ id: tokenId }).update({ reuse_detected_at: at });
}
