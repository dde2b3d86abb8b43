import { presentToken } from "../presenters";
import { IdParams } from "../schemas/common";
import { CreatedTokenSchema, CreateTokenBody, RotateTokenBody, TokenSchema, UpdateTokenBody } from "../schemas/tokens";
import { z } from "../schemas/zod";
import { createToken, deleteOwnToken, getOwnToken, listOwnTokens, rotateOwnToken, updateOwnToken } from "../services/tokens";
import type { Api } from "../http/api";

export function registerTokenRoutes(api: Api): void {
  const { db, clock } = api.deps;

  api.route({
    method: "get",
    path: "/tokens",
    summary: "The caller's personal access tokens (never the secrets)",
    tag: "tokens",
    auth: "user",
    success: { status: 200, description: "Newest first", schema: z.array(TokenSchema) },
    handler: async ({ caller }) => {
      const now = new Date(clock.now());
      return (await listOwnTokens(db, caller)).map((t) => presentToken(t, now));
    },
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
      const now = new Date(clock.now());
      const { view, token } = await createToken(db, caller, body, meta, now);
      return { ...presentToken(view, now), token };
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
    handler: async ({ caller, params }) => presentToken(await getOwnToken(db, caller, params.id), new Date(clock.now())),
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
    handler: async ({ caller, params, body, meta }) =>
      presentToken(await updateOwnToken(db, caller, params.id, body, meta), new Date(clock.now())),
  });

  api.route({
    method: "post",
    path: "/tokens/{id}/rotate",
    summary: "Replace a token's secret, keeping the token; the old secret works for graceMinutes more",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    body: RotateTokenBody,
    success: { status: 201, description: "The token with its new secret (shown only here)", schema: CreatedTokenSchema, secret: true },
    errors: [404],
    handler: async ({ caller, params, body, meta }) => {
      const now = new Date(clock.now());
      const { view, token } = await rotateOwnToken(db, caller, params.id, body.graceMinutes ?? 0, meta, now);
      return { ...presentToken(view, now), token };
    },
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
