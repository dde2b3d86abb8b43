import { MAX_EXPIRY_DAYS, MIN_EXPIRY_DAYS, type GitSettingsDto } from "@clarive/shared";
import { z } from "./zod";

export const GitSettingsSchema = z
  .object({
    patAuthEnabled: z.boolean().openapi({ description: "Global default for repositories whose patAccess is 'inherit'" }),
    maxLifetimeDays: z.number().int(),
  })
  .openapi("GitSettings") satisfies z.ZodType<GitSettingsDto>;

export const UpdateGitSettingsBody = z
  .strictObject({
    patAuthEnabled: z.boolean().optional(),
    maxLifetimeDays: z.number().int().min(MIN_EXPIRY_DAYS).max(MAX_EXPIRY_DAYS).optional(),
  })
  .openapi("UpdateGitSettingsRequest");
