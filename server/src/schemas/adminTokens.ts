import type { AdminTokenDto, AdminTokenPage, AdminUpdateTokenRequest } from "@clarive/shared";
import { RepositoryFullName } from "./common";
import { TokenSchema } from "./tokens";
import { z } from "./zod";

export const AdminTokenSchema = TokenSchema.extend({
  username: z.string().openapi({ description: "The token's owner" }),
  exceedsPolicy: z.boolean().openapi({
    description: "Its lifetime is longer than today's maxLifetimeDays: issued before the policy was lowered (lowering it changes no token)",
  }),
}).openapi("AdminToken", { description: "A personal access token with its owner, for administrators" }) satisfies z.ZodType<AdminTokenDto>;

export const AdminTokenPageSchema = z
  .object({
    items: z.array(AdminTokenSchema).openapi({ description: "Tokens, newest first" }),
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next (older) page; null on the last page" }),
  })
  .openapi("AdminTokenPage", { description: "One page of the token inventory" }) satisfies z.ZodType<AdminTokenPage>;

const Instant = z.iso.datetime({ offset: true }).or(z.iso.date()).openapi({ format: "date-time" });

export const AdminTokenQuery = z.strictObject({
  username: z.string().min(1).max(64).optional().openapi({ description: "Only this user's tokens (any case)" }),
  state: z
    .enum(["active", "inactive", "expired"])
    .optional()
    .openapi({ description: "`active`: usable (active, not expired); `inactive`: deactivated, not expired; `expired`: past its expiry" }),
  expiresBefore: Instant.optional().openapi({ description: "Only tokens expiring before this instant" }),
  lastUsedBefore: Instant.optional().openapi({ description: "Only tokens last used before this instant, or never used" }),
  repository: RepositoryFullName.optional().openapi({
    description: "Only tokens that can reach this repository (project/name): in their scope, and their owner has access",
  }),
  exceedsPolicy: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ description: "Only tokens beyond (true) or within (false) today's maxLifetimeDays" }),
  limit: z.coerce.number().int().min(1).max(200).default(50).optional().openapi({ description: "Page size, 1–200 (default 50)" }),
  cursor: z.string().max(200).optional().openapi({ description: "nextCursor of the previous page" }),
});

export const AdminUpdateTokenBody = z
  .strictObject({
    active: z.boolean().openapi({ description: "false deactivates the token at once (every instance), true reactivates it" }),
  })
  .openapi("AdminUpdateTokenRequest", { description: "Deactivate or reactivate a token" }) satisfies z.ZodType<AdminUpdateTokenRequest>;
