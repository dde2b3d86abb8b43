import type { Queryable, UserRow } from "./types";

export async function insertApiKey(db: Queryable, key: { user_id: number; label: string; key_hash: string }): Promise<void> {
  await db("api_keys").insert(key);
}

/** The owner of an API key, with the key's id, when the key exists. */
export const findUserByApiKeyHash = (db: Queryable, keyHash: string): Promise<(UserRow & { api_key_id: number }) | undefined> =>
  db("api_keys")
    .join("users", "users.id", "api_keys.user_id")
    .where("api_keys.key_hash", keyHash)
    .first("users.*", "api_keys.id as api_key_id");

export async function touchApiKey(db: Queryable, id: number, now: Date): Promise<void> {
  // Only write when the stamp is a minute old: keeps a busy client from turning reads into writes.
  await db("api_keys")
    .where({ id })
    .andWhere((q) => void q.whereNull("last_used_at").orWhere("last_used_at", "<", new Date(now.getTime() - 60_000)))
    .update({ last_used_at: now });
}

export async function deleteApiKey(db: Queryable, id: number): Promise<void> {
  await db("api_keys").where({ id }).delete();
}
