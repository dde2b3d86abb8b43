import type { Queryable } from "./types";

/** Everything about a token and its owner that a git auth decision needs, in one query. */
export interface TokenAuthRow {
  id: number;
  user_id: number;
  permission: "read" | "read-write";
  all_repositories: boolean;
  active: boolean;
  expires_at: Date;
  username: string;
  user_active: boolean;
  is_admin: boolean;
  scope: number[];
  /** Null for the token's current secret; for a secret rotated out, the end of its grace window. */
  retired_until: Date | null;
  /** Addresses and CIDR ranges the token may be used from; empty = anywhere. */
  allowed_ips: string[];
}

/** A secret of a token that was deleted: known, so presenting it is no guess. */
export interface DeletedTokenRow {
  deleted: true;
  token_id: number;
  user_id: number;
}

/**
 * The token a secret belongs to: its current secret, or one it had before a rotation
 * (then with `retired_until`). One query either way.
 */
export async function findTokenForAuth(db: Queryable, tokenHash: string): Promise<TokenAuthRow | undefined> {
  const row: TokenAuthRow | undefined = await db("personal_access_tokens as t")
    .join("users as u", "u.id", "t.user_id")
    // Two index lookups (the current secrets, then the retired ones), then the token by id.
    .whereRaw(
      `t.id = coalesce((SELECT c.id FROM personal_access_tokens c WHERE c.token_hash = ?),
                       (SELECT r.token_id FROM personal_access_token_retired_secrets r WHERE r.token_hash = ?))`,
      [tokenHash, tokenHash],
    )
    .first(
      "t.id",
      "t.user_id",
      "t.permission",
      "t.all_repositories",
      "t.active",
      "t.expires_at",
      "t.allowed_ips",
      "u.username",
      "u.active as user_active",
      "u.is_admin",
      db.raw(
        "(SELECT r.valid_until FROM personal_access_token_retired_secrets r WHERE r.token_hash = ? AND t.token_hash <> ?) AS retired_until",
        [tokenHash, tokenHash],
      ),
      db.raw(
        "coalesce((SELECT array_agg(s.repository_id) FROM personal_access_token_repositories s WHERE s.token_id = t.id), '{}') AS scope",
      ),
    );
  return row;
}

/** The deleted token a secret belonged to (migration 007's tombstones), if any. */
export async function findDeletedToken(db: Queryable, tokenHash: string): Promise<DeletedTokenRow | undefined> {
  const row: { token_id: number; user_id: number } | undefined = await db("personal_access_token_tombstones")
    .where({ token_hash: tokenHash })
    .first("token_id", "user_id");
  return row ? { deleted: true, ...row } : undefined;
}

export interface TokenUse {
  id: number;
  ip: string | null;
  at: Date;
}

/** An address a token was used from for the first time (or again after it dropped out of the last 5). */
export interface NewTokenAddress {
  token_id: number;
  ip: string;
  user_id: number;
  username: string;
}

export const RECENT_IPS_KEPT = 5;

/**
 * Records successful uses, many tokens in one statement. A stamp less than a minute old is
 * left alone, so several instances recording the same token write it about once a minute.
 * Each (token, address) is also kept in personal_access_token_ips, the last RECENT_IPS_KEPT
 * distinct addresses per token; the addresses inserted (not already among them) are returned.
 * ON CONFLICT makes that "first" exactly once, whichever instances record the same address.
 */
export async function touchTokenUses(db: Queryable, uses: TokenUse[]): Promise<NewTokenAddress[]> {
  if (uses.length === 0) return [];
  const rows = uses.map(() => "(?::integer, ?::timestamptz, ?::text)").join(", ");
  const bindings = uses.flatMap((use) => [use.id, use.at, use.ip]);
  await db.raw(
    `UPDATE personal_access_tokens AS t SET last_used_at = u.at, last_used_ip = u.ip
     FROM (VALUES ${rows}) AS u (id, at, ip)
     WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at - interval '60 seconds')`,
    bindings,
  );
  const withIp = uses.filter((use) => use.ip !== null);
  if (withIp.length === 0) return [];
  const ipRows = withIp.map(() => "(?::integer, ?::text, ?::timestamptz)").join(", ");
  const inserted = await db.raw<{ rows: NewTokenAddress[] }>(
    `WITH upserted AS (
       INSERT INTO personal_access_token_ips AS a (token_id, ip, last_used_at)
       SELECT u.id, u.ip, u.at FROM (VALUES ${ipRows}) AS u (id, ip, at)
       WHERE EXISTS (SELECT 1 FROM personal_access_tokens t WHERE t.id = u.id)
       ON CONFLICT (token_id, ip) DO UPDATE SET last_used_at = greatest(a.last_used_at, excluded.last_used_at)
       RETURNING a.token_id, a.ip, (xmax = 0) AS inserted
     )
     SELECT p.token_id, p.ip, t.user_id, usr.username FROM upserted p
     JOIN personal_access_tokens t ON t.id = p.token_id JOIN users usr ON usr.id = t.user_id
     WHERE p.inserted`,
    withIp.flatMap((use) => [use.id, use.ip, use.at]),
  );
  const tokenIds = [...new Set(withIp.map((use) => use.id))];
  await db.raw(
    `DELETE FROM personal_access_token_ips a USING (
       SELECT token_id, ip, row_number() OVER (PARTITION BY token_id ORDER BY last_used_at DESC, ip) AS n
       FROM personal_access_token_ips WHERE token_id IN (${tokenIds.map(() => "?").join(", ")})
     ) r WHERE a.token_id = r.token_id AND a.ip = r.ip AND r.n > ${RECENT_IPS_KEPT}`,
    tokenIds,
  );
  return inserted.rows;
}

export interface ThrottleRow {
  key: string;
  failures: number;
  window_started_at: Date;
  blocked_until: Date | null;
}

/**
 * Counts one failure for a key in a sliding window that restarts once it is older than
 * `windowSeconds`; reaching `limit` blocks the key for `cooldownSeconds`. One statement, so
 * concurrent failures on several instances all count.
 */
export async function recordAuthFailure(
  db: Queryable,
  key: string,
  limit: number,
  windowSeconds: number,
  cooldownSeconds: number,
): Promise<ThrottleRow> {
  const result = await db.raw<{ rows: ThrottleRow[] }>(
    `INSERT INTO auth_throttle AS a (key, failures, window_started_at) VALUES (:key, 1, now())
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE WHEN a.window_started_at < now() - make_interval(secs => :window) THEN 1 ELSE a.failures + 1 END,
       window_started_at = CASE WHEN a.window_started_at < now() - make_interval(secs => :window) THEN now() ELSE a.window_started_at END,
       blocked_until = CASE
         WHEN a.window_started_at >= now() - make_interval(secs => :window) AND a.failures + 1 >= :limit
           THEN now() + make_interval(secs => :cooldown)
         ELSE a.blocked_until END
     RETURNING key, failures, window_started_at, blocked_until`,
    { key, window: windowSeconds, limit, cooldown: cooldownSeconds },
  );
  return result.rows[0] as ThrottleRow;
}

export async function clearAuthFailures(db: Queryable, keys: string[]): Promise<void> {
  await db("auth_throttle").whereIn("key", keys).delete();
}

export const findThrottles = (db: Queryable, keys: string[]): Promise<ThrottleRow[]> =>
  db<ThrottleRow>("auth_throttle").whereIn("key", keys);

/** Keys that still matter: blocked, or with failures in a window that has not run out. */
export const loadLiveThrottles = (db: Queryable, windowSeconds: number): Promise<ThrottleRow[]> =>
  db<ThrottleRow>("auth_throttle")
    .where("blocked_until", ">", db.fn.now())
    .orWhere("window_started_at", ">", db.raw("now() - make_interval(secs => ?)", [windowSeconds]));

/** Forgets keys whose window and block are both over; each deletion is announced (trigger). */
export async function pruneExpiredThrottles(db: Queryable, windowSeconds: number): Promise<void> {
  await db("auth_throttle")
    .where("window_started_at", "<", db.raw("now() - make_interval(secs => ?)", [windowSeconds]))
    .andWhere((q) => void q.whereNull("blocked_until").orWhere("blocked_until", "<", db.fn.now()))
    .delete();
}
