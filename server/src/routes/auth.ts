import { presentUser } from "../presenters";
import { LoginBody, LoginResponseSchema, UserSchema } from "../schemas/auth";
import { login, logout } from "../services/auth";
import { getOwnAccount } from "../services/users";
import type { Api } from "../http/api";
import type { LoginThrottle } from "../gitAccess";

export function registerAuthRoutes(api: Api, loginThrottle: LoginThrottle): void {
  const { db, clock } = api.deps;

  api.route({
    method: "post",
    path: "/auth/login",
    operationId: "login",
    summary: "Exchange a username and password for an API key",
    description:
      "Checks the username and password and creates a new API key for the REST API; a user may hold several (one per place it is used: say which in `label`). The key is in this answer only (`Cache-Control: no-store`): send it as `Authorization: Bearer <apiKey>`. A wrong password, an unknown user and a deactivated one all get the same 401 `invalid_credentials`, and every failure is written to the audit trail. Failed logins are counted per username at the client's address and per address, with the same policy as git's Basic auth: past the limit the answer is 429 with `Retry-After`, before the password is checked.",
    tag: "auth",
    auth: "none",
    body: LoginBody,
    examples: {
      vscode: { summary: "Log in from VS Code", value: { username: "alice", password: "correct horse battery staple", label: "VS Code" } },
    },
    success: { status: 201, description: "The new API key (shown only here) and the user", schema: LoginResponseSchema, secret: true },
    errors: ["invalid_credentials", "too_many_requests"],
    handler: async ({ body, meta }) => {
      const { apiKey, user } = await login(db, body, meta, loginThrottle, clock.now());
      return { apiKey, user: presentUser(user) };
    },
  });

  api.route({
    method: "post",
    path: "/auth/logout",
    operationId: "logout",
    summary: "Revoke the API key that authenticates this request",
    description:
      "Deletes the API key this request is authenticated with; the user's other API keys and personal access tokens keep working.",
    tag: "auth",
    auth: "user",
    success: { status: 204, description: "The key no longer works" },
    handler: ({ caller, meta }) => logout(db, caller, meta),
  });

  api.route({
    method: "get",
    path: "/me",
    operationId: "getCurrentUser",
    summary: "The authenticated user",
    description: "The account of the API key's owner: name, administrator flag, whether it is active.",
    tag: "auth",
    auth: "user",
    errors: ["user_not_found"],
    success: { status: 200, description: "The caller", schema: UserSchema },
    handler: async ({ caller }) => presentUser(await getOwnAccount(db, caller)),
  });
}
