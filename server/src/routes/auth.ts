import { presentUser } from "../presenters";
import { LoginBody, LoginResponseSchema, UserSchema } from "../schemas/auth";
import { login, logout } from "../services/auth";
import { getOwnAccount } from "../services/users";
import type { Api } from "../http/api";

export function registerAuthRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "post",
    path: "/auth/login",
    summary: "Exchange a username and password for an API key",
    tag: "auth",
    auth: "none",
    body: LoginBody,
    success: { status: 201, description: "The new API key (shown only here) and the user", schema: LoginResponseSchema, secret: true },
    errors: [401],
    handler: async ({ body, meta }) => {
      const { apiKey, user } = await login(db, body, meta);
      return { apiKey, user: presentUser(user) };
    },
  });

  api.route({
    method: "post",
    path: "/auth/logout",
    summary: "Revoke the API key that authenticates this request",
    tag: "auth",
    auth: "user",
    success: { status: 204, description: "The key no longer works" },
    handler: ({ caller, meta }) => logout(db, caller, meta),
  });

  api.route({
    method: "get",
    path: "/me",
    summary: "The authenticated user",
    tag: "auth",
    auth: "user",
    success: { status: 200, description: "The caller", schema: UserSchema },
    handler: async ({ caller }) => presentUser(await getOwnAccount(db, caller)),
  });
}
