import { presentUser } from "../presenters";
import { CreateUserBody, UpdateUserBody, UsernameParams } from "../schemas/users";
import { UserSchema } from "../schemas/auth";
import { z } from "../schemas/zod";
import { createUser, listAllUsers, updateUserAccount } from "../services/users";
import type { Api } from "../http/api";

export function registerUserRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "get",
    path: "/users",
    operationId: "listUsers",
    summary: "List users (admin)",
    description: "Every user account, active or not. Administrators only.",
    tag: "users",
    auth: "user",
    success: { status: 200, description: "Every user", schema: z.array(UserSchema) },
    errors: ["admin_required"],
    handler: async ({ caller }) => (await listAllUsers(db, caller)).map(presentUser),
  });

  api.route({
    method: "post",
    path: "/users",
    operationId: "createUser",
    summary: "Create a user (admin)",
    description: "Creates a user who can log in with this password. Administrators only. Usernames are unique.",
    tag: "users",
    auth: "user",
    body: CreateUserBody,
    examples: {
      developer: { summary: "A developer", value: { username: "alice", password: "a long passphrase" } },
      admin: { summary: "Another administrator", value: { username: "bob", password: "another long passphrase", isAdmin: true } },
    },
    success: { status: 201, description: "The new user", schema: UserSchema },
    errors: ["admin_required", "user_exists"],
    handler: async ({ caller, body, meta }) => presentUser(await createUser(db, caller, body, meta)),
  });

  api.route({
    method: "patch",
    path: "/users/{username}",
    operationId: "updateUser",
    summary: "Change a user's password, admin flag or active state (admin)",
    description:
      "Changes the password, the administrator flag or the active state given in the body. Administrators only. A deactivated user can no longer log in, and their API keys and tokens are refused. No change may leave the server without an active administrator (409 `last_admin`).",
    tag: "users",
    auth: "user",
    params: UsernameParams,
    body: UpdateUserBody,
    examples: {
      deactivate: { summary: "Deactivate a user", value: { active: false } },
      resetPassword: { summary: "Set a new password", value: { password: "a new long passphrase" } },
    },
    success: { status: 200, description: "The user after the change", schema: UserSchema },
    errors: ["admin_required", "user_not_found", "last_admin"],
    handler: async ({ caller, params, body, meta }) => presentUser(await updateUserAccount(db, caller, params.username, body, meta)),
  });
}
