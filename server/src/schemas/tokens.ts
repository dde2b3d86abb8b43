import {
  DESCRIPTION_MAX_LENGTH,
  MAX_EXPIRY_DAYS,
  MIN_EXPIRY_DAYS,
  type CreatedTokenDto,
  type CreateTokenRequest,
  type TokenDto,
  type UpdateTokenRequest,
  type RotateTokenRequest,
  MAX_ROTATION_GRACE_MINUTES,
} from "@clarive/shared";
import { MAX_ALLOWED_IPS } from "../gitAccess/ipAllowList";
import { RepositoryFullName } from "./common";
import { z } from "./zod";

const Permission = z.enum(["read", "read-write"]).openapi({ description: "read: clone and fetch; read-write: push too" });
const Description = z
  .string()
  .trim()
  .min(1)
  .max(DESCRIPTION_MAX_LENGTH)
  .openapi({ description: "What the token is for, shown in lists", example: "CI for widgets" });
const Scope = z
  .array(RepositoryFullName)
  .max(100)
  .openapi({ description: "Repositories the token may reach; empty or absent means all the owner can reach" });

/** Checked entry by entry in the service (gitAccess/ipAllowList.ts), which names an invalid one. */
const AllowedIps = z
  .array(z.string().max(64))
  .max(MAX_ALLOWED_IPS)
  .openapi({
    description: `At most ${MAX_ALLOWED_IPS} IPv4/IPv6 addresses or CIDR ranges git may use the token from (the client's address, or with TRUST_PROXY the forwarded one); empty or absent means anywhere`,
    example: ["192.0.2.0/24", "2001:db8::/32", "203.0.113.7"],
  });

const ExpiresInDays = z
  .number()
  .int()
  .openapi({ description: `${MIN_EXPIRY_DAYS}–${MAX_EXPIRY_DAYS} days from now, at most the server's maxLifetimeDays` });
const ExpiresAt = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .openapi({
    description: `Alternative to expiresInDays: an ISO 8601 date (midnight UTC) or date-time, exactly ${MIN_EXPIRY_DAYS} days to maxLifetimeDays from now`,
  });

export const RecentIpSchema = z
  .object({
    ip: z.string().openapi({ description: "A client address the token was used from", example: "203.0.113.7" }),
    lastUsedAt: z.string().openapi({ format: "date-time", description: "The last time it was used from there" }),
  })
  .openapi("RecentIp", { description: "A client address a token was used from" });

export const TokenSchema = z
  .object({
    id: z.number().int().openapi({ description: "Identifies the token in /tokens/{id}" }),
    description: z.string().openapi({ description: "What the token is for, as its owner wrote it" }),
    permission: Permission,
    repositories: z.array(z.string()).openapi({
      description: "The repositories (project/name) the token is limited to; empty when allRepositories",
      example: ["acme/widgets"],
    }),
    allRepositories: z.boolean().openapi({ description: "The token reaches every repository its owner can reach, now and later" }),
    hint: z.string().openapi({
      description: "The secret's prefix and last four characters, to tell tokens apart; never the secret",
      example: "clapat_…Xy9Q",
    }),
    active: z.boolean().openapi({ description: "false once deactivated (by its owner or by a leak report): git refuses it" }),
    expired: z.boolean().openapi({ description: "expiresAt has passed: git refuses it" }),
    expiresAt: z.string().openapi({ format: "date-time", description: "When git starts refusing the token" }),
    createdAt: z.string().openapi({ format: "date-time", description: "When the token was created" }),
    updatedAt: z
      .string()
      .openapi({ format: "date-time", description: "The last change to the token (description, scope, permission, state or secret)" }),
    lastUsedAt: z.string().nullable().openapi({
      format: "date-time",
      description: "The last git request it was accepted for (recorded shortly after); null if never used",
    }),
    lastUsedIp: z.string().nullable().openapi({ description: "The client address of that request" }),
    rotatedAt: z.string().nullable().openapi({ format: "date-time", description: "When its secret was last replaced; null if never" }),
    reuseDetectedAt: z
      .string()
      .nullable()
      .openapi({ format: "date-time", description: "A secret rotated out of this token was used after its grace window" }),
    allowedIps: z
      .array(z.string())
      .openapi({ description: "Addresses and CIDR ranges (normal form) git may use the token from; empty = anywhere" }),
    recentIps: z
      .array(RecentIpSchema)
      .openapi({ description: "The last 5 distinct client addresses the token was used from, most recent first" }),
  })
  .openapi("Token", { description: "A personal access token for git over HTTP (never its secret)" }) satisfies z.ZodType<TokenDto>;

export const CreatedTokenSchema = TokenSchema.extend({
  token: z.string().openapi({ description: "The secret: shown in this response only, never again" }),
}).openapi("CreatedToken", {
  description: "A token just created or rotated, with its secret: the only time it is shown",
}) satisfies z.ZodType<CreatedTokenDto>;

export const CreateTokenBody = z
  .strictObject({
    description: Description,
    expiresInDays: ExpiresInDays.optional(),
    expiresAt: ExpiresAt.optional(),
    repositories: Scope.optional(),
    permission: Permission,
    allowedIps: AllowedIps.optional(),
  })
  .openapi("CreateTokenRequest", { description: "A new personal access token" }) satisfies z.ZodType<CreateTokenRequest>;

export const UpdateTokenBody = z
  .strictObject({
    description: Description.optional(),
    repositories: Scope.optional(),
    permission: Permission.optional(),
    active: z
      .boolean()
      .optional()
      .openapi({ description: "false deactivates the token at once; true makes it work again until it expires" }),
    allowedIps: AllowedIps.optional(),
    expiresInDays: ExpiresInDays.optional(),
    expiresAt: ExpiresAt.optional(),
  })
  .openapi("UpdateTokenRequest", {
    description: "The token fields to change; the others keep their values",
  }) satisfies z.ZodType<UpdateTokenRequest>;

export const RotateTokenBody = z
  .strictObject({
    graceMinutes: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_GRACE_MINUTES)
      .optional()
      .openapi({ description: "How long the old secret keeps working (default 0: it stops at once)", example: 60 }),
  })
  .openapi("RotateTokenRequest", { description: "How long the old secret keeps working" }) satisfies z.ZodType<RotateTokenRequest>;
