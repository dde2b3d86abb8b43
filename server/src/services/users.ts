import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import { ConflictError, NotFoundError } from "../errors";
import { hashPassword } from "../lib/password";
import { requireAdmin } from "../policies/admin";
import type { UserRow } from "../repositories/types";
import {
  countActiveAdmins,
  countUsers,
  lockUsersTable,
  findUserById,
  findUserByUsername,
  insertUser,
  listUsers,
  updateUser,
} from "../repositories/users";
import { audit } from "./audit";
import type { Actor, RequestMeta } from "./types";

/** The caller's own account, for GET /me. */
export async function getOwnAccount(db: Knex, actor: Actor): Promise<UserRow> {
  const user = await findUserById(db, actor.id);
  if (!user) throw new NotFoundError("Your account no longer exists", "user_not_found");
  return user;
}

export async function createUser(
  db: Knex,
  actor: Actor,
  input: { username: string; password: string; isAdmin?: boolean | undefined },
  meta: RequestMeta,
): Promise<UserRow> {
  requireAdmin(actor);
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (trx) => {
    if (await findUserByUsername(trx, input.username)) {
      throw new ConflictError(`A user named "${input.username}" already exists`, "user_exists");
    }
    const user = await insertUser(trx, {
      username: input.username,
      password_hash: passwordHash,
      is_admin: input.isAdmin ?? false,
    });
    await audit(trx, actor, "user.created", `user:${user.username}`, meta, { isAdmin: user.is_admin });
    return user;
  });
}

export async function listAllUsers(db: Knex, actor: Actor): Promise<UserRow[]> {
  requireAdmin(actor);
  return listUsers(db);
}

export async function updateUserAccount(
  db: Knex,
  actor: Actor,
  username: string,
  changes: { password?: string | undefined; isAdmin?: boolean | undefined; active?: boolean | undefined },
  meta: RequestMeta,
): Promise<UserRow> {
  requireAdmin(actor);
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  return db.transaction(async (trx) => {
    const user = await findUserByUsername(trx, username);
    if (!user) throw new NotFoundError(`No user named "${username}"`, "user_not_found");
    const updated = await updateUser(trx, user.id, {
      ...(passwordHash !== undefined && { password_hash: passwordHash }),
      ...(changes.isAdmin !== undefined && { is_admin: changes.isAdmin }),
      ...(changes.active !== undefined && { active: changes.active }),
    });
    // Checked after the update, inside the transaction, so two concurrent demotions cannot both pass.
    if ((await countActiveAdmins(trx)) === 0) {
      throw new ConflictError("This change would leave no active administrator", "last_admin");
    }
    await audit(trx, actor, "user.updated", `user:${user.username}`, meta, {
      passwordChanged: passwordHash !== undefined,
      ...(changes.isAdmin !== undefined && { isAdmin: changes.isAdmin }),
      ...(changes.active !== undefined && { active: changes.active }),
    });
    return updated;
  });
}

/**
 * On an empty database, creates `admin` with the configured password or a random one.
 * Returns the generated password (to be shown once) or null when none was generated.
 */
export async function ensureInitialAdmin(
  db: Knex,
  configuredPassword: string | undefined,
): Promise<{ created: boolean; generatedPassword: string | null }> {
  return db.transaction(async (trx) => {
    // Serialises first starts of several instances on one database.
    await lockUsersTable(trx);
    if ((await countUsers(trx)) > 0) return { created: false, generatedPassword: null };
    const generated = configuredPassword === undefined ? randomBytes(18).toString("base64url") : null;
    await insertUser(trx, {
      username: "admin",
      password_hash: await hashPassword(configuredPassword ?? (generated as string)),
      is_admin: true,
    });
    return { created: true, generatedPassword: generated };
  });
}
