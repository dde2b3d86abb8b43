import type { AdminTokenState } from "@clarive/shared";
import type { Queryable, TokenRow } from "./types";

export interface InventoryRow extends TokenRow {
  username: string;
  /** The lifetime the token was issued (or last rotated) with, in seconds. */
  issued_lifetime_seconds: number;
  /** created_at to the microsecond (a Date keeps milliseconds only), for the cursor. */
  created_exact: string;
}

export interface InventoryFilter {
  username?: string | undefined;
  state?: AdminTokenState | undefined;
  expiresBefore?: Date | undefined;
  /** Last used before this, or never used. */
  lastUsedBefore?: Date | undefined;
  /** Tokens that can reach this repository: in their scope, or all-repository tokens whose owner can. */
  repositoryId?: number | undefined;
  /** Only tokens whose lifetime is longer than this many seconds (or, with false, not longer). */
  exceedsLifetimeSeconds?: { seconds: number; exceeds: boolean } | undefined;
}

/** The position after the last row of a page: newest first means (created_at, id) descending. */
export interface InventoryCursor {
  createdExact: string;
  id: number;
}

const LIFETIME = "coalesce(t.lifetime_seconds, round(extract(epoch FROM t.expires_at - t.created_at)))";
const EXACT = `to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_exact`;

/** One page of every user's tokens, newest first: `limit` rows after the cursor. */
export async function pageAllTokens(
  db: Queryable,
  filter: InventoryFilter,
  now: Date,
  limit: number,
  after: InventoryCursor | undefined,
): Promise<InventoryRow[]> {
  const query = db("personal_access_tokens as t")
    .join("users as u", "u.id", "t.user_id")
    .select("t.*", "u.username", db.raw(`${LIFETIME}::integer AS issued_lifetime_seconds, ${EXACT}`))
    .orderBy([
      { column: "t.created_at", order: "desc" },
      { column: "t.id", order: "desc" },
    ])
    .limit(limit);
  if (after) query.whereRaw("(t.created_at, t.id) < (?::timestamptz, ?)", [after.createdExact, after.id]);
  if (filter.username !== undefined) query.whereRaw("lower(u.username) = lower(?)", [filter.username]);
  if (filter.state === "expired") query.where("t.expires_at", "<=", now);
  if (filter.state === "active") query.where("t.expires_at", ">", now).andWhere("t.active", true);
  if (filter.state === "inactive") query.where("t.expires_at", ">", now).andWhere("t.active", false);
  if (filter.expiresBefore) query.where("t.expires_at", "<", filter.expiresBefore);
  const { lastUsedBefore, repositoryId, exceedsLifetimeSeconds } = filter;
  if (lastUsedBefore) query.where((q) => void q.whereNull("t.last_used_at").orWhere("t.last_used_at", "<", lastUsedBefore));
  if (exceedsLifetimeSeconds) {
    query.whereRaw(`${LIFETIME} ${exceedsLifetimeSeconds.exceeds ? ">" : "<="} ?`, [exceedsLifetimeSeconds.seconds]);
  }
  if (repositoryId !== undefined) {
    query.whereRaw(
      // In its scope (or all), and its owner can reach it now: what a git request would be granted.
      `(t.all_repositories OR EXISTS (SELECT 1 FROM personal_access_token_repositories s WHERE s.token_id = t.id AND s.repository_id = ?))
       AND (u.is_admin OR EXISTS (SELECT 1 FROM memberships m JOIN repositories r ON m.repository_id = r.id OR m.project_id = r.project_id
                                  WHERE m.user_id = t.user_id AND r.id = ?))`,
      [repositoryId, repositoryId],
    );
  }
  return (await query) as InventoryRow[];
}

/** Any user's token, with its owner's name. */
export const findTokenWithOwner = (db: Queryable, id: number): Promise<InventoryRow | undefined> =>
  db("personal_access_tokens as t")
    .join("users as u", "u.id", "t.user_id")
    .where("t.id", id)
    .first("t.*", "u.username", db.raw(`${LIFETIME}::integer AS issued_lifetime_seconds, ${EXACT}`));
