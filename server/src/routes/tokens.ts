import { presentToken } from "../presenters";
import { IdParams } from "../schemas/common";
import { CreatedTokenSchema, CreateTokenBody, TokenSchema, UpdateTokenBody } from "../schemas/tokens";
import { z } from "../schemas/zod";
import { createToken, deleteOwnToken, getOwnToken, listOwnTokens, updateOwnToken } from "../services/tokens";
import type { Api } from "../http/api";

export function registerTokenRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "get",
    path: "/tokens",
    summary: "The caller's personal access tokens (never the secrets)",
    tag: "tokens",
    auth: "user",
    success: { status: 200, description: "Newest first", schema: z.array(TokenSchema) },
    handler: async ({ caller }) => (await listOwnTokens(db, caller)).map((t) => presentToken(t)),
  });

  api.route({
    method: "post",
    path: "/tokens",
    summary: "Create a personal access token; the response is the only time the secret is shown",
    tag: "tokens",
    auth: "user",
    body: CreateTokenBody,
    success: { status: 201, description: "The token, with its secret", schema: CreatedTokenSchema, secret: true },
    errors: [403],
    handler: async ({ caller, body, meta }) => {
      const { view, token } = await createToken(db, caller, body, meta);
      return { ...presentToken(view), token };
    },
  });

  api.route({
    method: "get",
    path: "/tokens/{id}",
    summary: "One of the caller's tokens",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    success: { status: 200, description: "The token", schema: TokenSchema },
    errors: [404],
    handler: async ({ caller, params }) => presentToken(await getOwnToken(db, caller, params.id)),
  });

  api.route({
    method: "patch",
    path: "/tokens/{id}",
    summary: "Edit description, scope or permission, or activate/deactivate",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    body: UpdateTokenBody,
    success: { status: 200, description: "The token after the change", schema: TokenSchema },
    errors: [404],
    handler: async ({ caller, params, body, meta }) => presentToken(await updateOwnToken(db, caller, params.id, body, meta)),
  });

  api.route({
    method: "delete",
    path: "/tokens/{id}",
    summary: "Remove a token permanently",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    success: { status: 204, description: "Removed; the token stops working at once" },
    errors: [404],
    handler: ({ caller, params, meta }) => deleteOwnToken(db, caller, params.id, meta),
  });
}
