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
    operationId: "listTokens",
    summary: "The caller's personal access tokens (never the secrets)",
    description:
      "The caller's personal access tokens, newest first, with their scope, permission, expiry and last use. Secrets are never shown again after creation; `hint` tells them apart.",
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
    operationId: "createToken",
    summary: "Create a personal access token; the response is the only time the secret is shown",
    description:
      "Creates a personal access token for git over HTTP. Give exactly one of `expiresInDays` or `expiresAt`, within the server's `maxLifetimeDays`. `repositories` limits the token to those repositories (each must be one you can reach); empty or absent means all you can reach, now and later. `allowedIps` limits the addresses git may use it from (IPv4/IPv6 addresses or CIDR ranges; an invalid entry is a 400 naming it). The secret (`token`) is in this answer only (`Cache-Control: no-store`): use it as the password for git. Refused with 403 `pat_auth_disabled` while tokens are turned off everywhere.",
    tag: "tokens",
    auth: "user",
    body: CreateTokenBody,
    examples: {
      readOneRepository: {
        summary: "Read-only for one repository, 30 days",
        value: { description: "CI for widgets", expiresInDays: 30, repositories: ["acme/widgets"], permission: "read" },
      },
      laptop: {
        summary: "Read-write on every repository you can reach, until a date",
        value: { description: "Laptop", expiresAt: "2027-06-30", permission: "read-write" },
      },
    },
    success: { status: 201, description: "The token, with its secret", schema: CreatedTokenSchema, secret: true },
    errors: ["pat_auth_disabled", "invalid_expiration", "invalid_repository_scope"],
    handler: async ({ caller, body, meta }) => {
      const now = new Date(clock.now());
      const { view, token } = await createToken(db, caller, body, meta, now);
      return { ...presentToken(view, now), token };
    },
  });

  api.route({
    method: "get",
    path: "/tokens/{id}",
    operationId: "getToken",
    summary: "One of the caller's tokens",
    description: "One of the caller's tokens. Another user's token id answers 404 like a missing one.",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    success: { status: 200, description: "The token", schema: TokenSchema },
    errors: ["token_not_found"],
    handler: async ({ caller, params }) => presentToken(await getOwnToken(db, caller, params.id), new Date(clock.now())),
  });

  api.route({
    method: "patch",
    path: "/tokens/{id}",
    operationId: "updateToken",
    summary: "Edit description, scope, permission, allowed addresses or expiry, or activate/deactivate",
    description:
      "Changes the fields given in the body; the others keep their values. `active: false` deactivates the token: every instance refuses it before this answer is sent; `active: true` makes it work again (until it expires). `allowedIps` replaces the token's IP allow-list (an empty list: anywhere). `expiresInDays` or `expiresAt` gives it a new expiry, counted from now and bounded by `maxLifetimeDays` exactly, as at creation. Changes are audited.",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    body: UpdateTokenBody,
    examples: {
      deactivate: { summary: "Deactivate the token", value: { active: false } },
      narrow: { summary: "Read-only, one repository", value: { repositories: ["acme/widgets"], permission: "read" } },
      pin: { summary: "Only from the office network", value: { allowedIps: ["192.0.2.0/24", "2001:db8::/32"] } },
    },
    success: { status: 200, description: "The token after the change", schema: TokenSchema },
    errors: ["token_not_found", "invalid_repository_scope", "invalid_expiration"],
    handler: async ({ caller, params, body, meta }) =>
      presentToken(await updateOwnToken(db, caller, params.id, body, meta, new Date(clock.now())), new Date(clock.now())),
  });

  api.route({
    method: "post",
    path: "/tokens/{id}/rotate",
    operationId: "rotateToken",
    summary: "Replace a token's secret, keeping the token; the old secret works for graceMinutes more",
    description:
      "Gives the token a new secret and keeps everything else (id, description, scope, permission); its lifetime starts over, capped by `maxLifetimeDays`. The old secret keeps working for `graceMinutes` (default 0), then is refused, and any later use of it is recorded as `reuseDetectedAt`. The new secret is in this answer only (`Cache-Control: no-store`).",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    body: RotateTokenBody,
    examples: {
      withGrace: { summary: "Keep the old secret working for an hour", value: { graceMinutes: 60 } },
      now: { summary: "Refuse the old secret at once", value: {} },
    },
    success: { status: 201, description: "The token with its new secret (shown only here)", schema: CreatedTokenSchema, secret: true },
    errors: ["token_not_found"],
    handler: async ({ caller, params, body, meta }) => {
      const now = new Date(clock.now());
      const { view, token } = await rotateOwnToken(db, caller, params.id, body.graceMinutes ?? 0, meta, now);
      return { ...presentToken(view, now), token };
    },
  });

  api.route({
    method: "delete",
    path: "/tokens/{id}",
    operationId: "deleteToken",
    summary: "Remove a token permanently",
    description: "Deletes the token; every instance refuses it before this answer is sent. The deletion is audited.",
    tag: "tokens",
    auth: "user",
    params: IdParams,
    success: { status: 204, description: "Removed; the token stops working at once" },
    errors: ["token_not_found"],
    handler: ({ caller, params, meta }) => deleteOwnToken(db, caller, params.id, meta),
  });
}
