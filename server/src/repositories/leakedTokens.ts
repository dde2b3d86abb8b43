import type { Queryable } from "./types";

export interface LiveTokenMatch {
  id: number;
  user_id: number;
  /** The hash of the secret that matched: the token's current one, or one rotated out but still in its grace window. */
  secret_hash: string;
}

/**
 * The tokens that a secret among these hashes would still open at `now`: active, unexpired,
 * by their current secret or by a rotated-out one whose grace window is still open. A token
 * whose owner is deactivated counts too: it would work again once the owner is reactivated.
 * With `deactivatedToo`, so does a deactivated token: its owner can make it work again.
 */
export async function findLiveTokensBySecretHash(
  db: Queryable,
  secretHashes: string[],
  now: Date,
  { deactivatedToo = false }: { deactivatedToo?: boolean } = {},
): Promise<LiveTokenMatch[]> {
  if (secretHashes.length === 0) return [];
  const current = db("personal_access_tokens as t")
    .whereIn("t.token_hash", secretHashes)
    .select("t.id", "t.user_id", "t.token_hash as secret_hash", "t.active", "t.expires_at");
  const retired = db("personal_access_token_retired_secrets as r")
    .join("personal_access_tokens as t", "t.id", "r.token_id")
    .whereIn("r.token_hash", secretHashes)
    .andWhere("r.valid_until", ">", now)
    .select("t.id", "t.user_id", "r.token_hash as secret_hash", "t.active", "t.expires_at");
  const matches = db.queryBuilder().from(current.unionAll(retired, true).as("m")).where("m.expires_at", ">", now);
  if (!deactivatedToo) matches.andWhere("m.active", true);
  const rows: LiveTokenMatch[] = await matches.select("m.id", "m.user_id", "m.secret_hash");
  return rows;
}

/** Deactivates these tokens if they are still active; returns the ones it changed. */
export function deactivateTokens(db: Queryable, tokenIds: number[]): Promise<{ id: number; user_id: number }[]> {
  if (tokenIds.length === 0) return Promise.resolve([]);
  return db("personal_access_tokens")
    .whereIn("id", tokenIds)
    .andWhere("active", true)
    .update({ active: false, updated_at: db.fn.now() })
    .returning(["id", "user_id"]);
}

/** The switches that decide whether a push to this repository is scanned (see policies/patAccess). */
export async function findPushProtectionSwitches(
  db: Queryable,
  project: string,
  name: string,
): Promise<{ repositoryId: number; repository: "inherit" | "true" | "false"; global: boolean } | undefined> {
  const row: { id: number; push_protection: "inherit" | "true" | "false"; global: boolean } | undefined = await db("repositories as r")
    .join("projects as p", "p.id", "r.project_id")
    .crossJoin(db.raw("git_settings as s"))
    .where({ "p.name": project, "r.name": name, "s.id": 1 })
    .first("r.id", "r.push_protection", "s.push_protection as global");
  return row && { repositoryId: row.id, repository: row.push_protection, global: row.global };
}

/** What an expiry warning says about a token. */
export async function findTokenForNotice(
  db: Queryable,
  tokenId: number,
): Promise<{ description: string; expires_at: Date; lifetime_seconds: number | null } | undefined> {
  return db("personal_access_tokens").where({ id: tokenId }).first("description", "expires_at", "lifetime_seconds");
}

/**
 * Claims the right to warn about a token's expiry now: true (and stamped) when the last warning
 * is older than `minimumGapSeconds` or there was none. One statement, so two pushes at the same
 * moment on two instances warn once.
 */
export async function claimExpiryNotice(db: Queryable, tokenId: number, now: Date, minimumGapSeconds: number): Promise<boolean> {
  const result = await db.raw<{ rows: unknown[] }>(
    `INSERT INTO token_expiry_notices (token_id, notified_at) VALUES (?, ?)
     ON CONFLICT (token_id) DO UPDATE SET notified_at = excluded.notified_at
       WHERE token_expiry_notices.notified_at <= excluded.notified_at - make_interval(secs => ?)
     RETURNING token_id`,
    [tokenId, now, minimumGapSeconds],
  );
  return result.rows.length > 0;
}
