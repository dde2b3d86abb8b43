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
import { RepositoryFullName } from "./common";
import { z } from "./zod";

const Permission = z.enum(["read", "read-write"]);
const Description = z.string().trim().min(1).max(DESCRIPTION_MAX_LENGTH);
const Scope = z
  .array(RepositoryFullName)
  .max(100)
  .openapi({ description: "Repositories the token may reach; empty or absent means all the owner can reach" });

export const TokenSchema = z
  .object({
    id: z.number().int(),
    description: z.string(),
    permission: Permission,
    repositories: z.array(z.string()),
    allRepositories: z.boolean(),
    hint: z.string().openapi({ example: "clapat_…Xy9Q" }),
    active: z.boolean(),
    expired: z.boolean(),
    expiresAt: z.string().openapi({ format: "date-time" }),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
    lastUsedAt: z.string().nullable().openapi({ format: "date-time" }),
    lastUsedIp: z.string().nullable(),
    rotatedAt: z.string().nullable().openapi({ format: "date-time" }),
    reuseDetectedAt: z
      .string()
      .nullable()
      .openapi({ format: "date-time", description: "A secret rotated out of this token was used after its grace window" }),
  })
  .openapi("Token") satisfies z.ZodType<TokenDto>;

export const CreatedTokenSchema = TokenSchema.extend({
  token: z.string().openapi({ description: "The secret: shown in this response only, never again" }),
}).openapi("CreatedToken") satisfies z.ZodType<CreatedTokenDto>;

export const CreateTokenBody = z
  .strictObject({
    description: Description,
    expiresInDays: z
      .number()
      .int()
      .openapi({ description: `${MIN_EXPIRY_DAYS}–${MAX_EXPIRY_DAYS} days, at most the server's maxLifetimeDays` })
      .optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .or(z.iso.date())
      .openapi({ description: "Alternative to expiresInDays: an ISO 8601 date or date-time" })
      .optional(),
    repositories: Scope.optional(),
    permission: Permission,
  })
  .openapi("CreateTokenRequest") satisfies z.ZodType<CreateTokenRequest>;

export const UpdateTokenBody = z
  .strictObject({
    description: Description.optional(),
    repositories: Scope.optional(),
    permission: Permission.optional(),
    active: z.boolean().optional(),
  })
  .openapi("UpdateTokenRequest") satisfies z.ZodType<UpdateTokenRequest>;

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
  .openapi("RotateTokenRequest") satisfies z.ZodType<RotateTokenRequest>;
