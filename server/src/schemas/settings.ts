import { MAX_EXPIRY_DAYS, MIN_EXPIRY_DAYS, type GitSettingsDto } from "@clarive/shared";
import { z } from "./zod";

export const GitSettingsSchema = z
  .object({
    patAuthEnabled: z.boolean().openapi({ description: "Global default for repositories whose patAccess is 'inherit'" }),
    maxLifetimeDays: z.number().int().openapi({ description: "The longest lifetime of a token created or rotated now, in days" }),
    pushProtection: z.boolean().openapi({
      description: "Refuse pushes that carry a live personal access token; the default for repositories whose pushProtection is 'inherit'",
    }),
  })
  .openapi("GitSettings", { description: "Server-wide git settings" }) satisfies z.ZodType<GitSettingsDto>;

export const UpdateGitSettingsBody = z
  .strictObject({
    patAuthEnabled: z
      .boolean()
      .optional()
      .openapi({ description: "Turn personal access tokens on or off for repositories whose patAccess is 'inherit'" }),
    maxLifetimeDays: z
      .number()
      .int()
      .min(MIN_EXPIRY_DAYS)
      .max(MAX_EXPIRY_DAYS)
      .optional()
      .openapi({ description: "The longest lifetime of tokens created or rotated from now on, in days" }),
    pushProtection: z.boolean().optional().openapi({
      description: "Refuse pushes that carry a live personal access token (the default for repositories whose pushProtection is 'inherit')",
    }),
  })
  .openapi("UpdateGitSettingsRequest", { description: "The settings to change; the others keep their values" });
