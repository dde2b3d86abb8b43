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
    summary: "List users (admin)",
    tag: "users",
    auth: "user",
    success: { status: 200, description: "Every user", schema: z.array(UserSchema) },
    errors: [403],
    handler: async ({ caller }) => (await listAllUsers(db, caller)).map(presentUser),
  });

  api.route({
    method: "post",
    path: "/users",
    summary: "Create a user (admin)",
    tag: "users",
    auth: "user",
    body: CreateUserBody,
    success: { status: 201, description: "The new user", schema: UserSchema },
    errors: [403, 409],
    handler: async ({ caller, body, meta }) => presentUser(await createUser(db, caller, body, meta)),
  });

  api.route({
    method: "patch",
    path: "/users/{username}",
    summary: "Change a user's password, admin flag or active state (admin)",
    tag: "users",
    auth: "user",
    params: UsernameParams,
    body: UpdateUserBody,
    success: { status: 200, description: "The user after the change", schema: UserSchema },
    errors: [403, 404, 409],
    handler: async ({ caller, params, body, meta }) => presentUser(await updateUserAccount(db, caller, params.username, body, meta)),
  });
}
