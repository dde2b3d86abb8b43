import type { Knex } from "knex";
import type { Queryable, UserRow } from "./types";

export const findUserByUsername = (db: Queryable, username: string): Promise<UserRow | undefined> =>
  db<UserRow>("users").whereRaw("lower(username) = lower(?)", [username]).first();

export const findUserById = (db: Queryable, id: number): Promise<UserRow | undefined> => db<UserRow>("users").where({ id }).first();

export const listUsers = (db: Queryable): Promise<UserRow[]> => db<UserRow>("users").orderBy("username");

export async function countUsers(db: Queryable): Promise<number> {
  const row = await db("users").count<{ count: number }[]>("* as count").first();
  return Number(row?.count ?? 0);
}

export async function countActiveAdmins(db: Queryable): Promise<number> {
  const row = await db("users").where({ is_admin: true, active: true }).count<{ count: number }[]>("* as count").first();
  return Number(row?.count ?? 0);
}

export async function insertUser(db: Queryable, user: Pick<UserRow, "username" | "password_hash" | "is_admin">): Promise<UserRow> {
  const [row] = await db<UserRow>("users").insert(user).returning("*");
  return row as UserRow;
}

export async function updateUser(
  db: Queryable,
  id: number,
  changes: Partial<Pick<UserRow, "password_hash" | "is_admin" | "active">>,
): Promise<UserRow> {
  const [row] = await db<UserRow>("users").where({ id }).update(changes).returning("*");
  return row as UserRow;
}

/** Serialises first starts of several instances on one database (until the transaction ends). */
export async function lockUsersTable(trx: Knex.Transaction): Promise<void> {
  await trx.raw("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE");
}
