import type { AuditEventDto } from "@clarive/shared";
import { z } from "./zod";

export const AuditEventSchema = z
  .object({
    id: z.number().int().openapi({ description: "Increasing with time" }),
    actor: z
      .string()
      .nullable()
      .openapi({ description: "Who did it (a username, or the name tried at a failed login); null for an anonymous leak report" }),
    action: z.string().openapi({ description: "What happened", example: "token.created" }),
    target: z.string().nullable().openapi({ description: "What it happened to, as kind:id; null for logins", example: "token:12" }),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "Facts of the event, such as the changes made (never a secret)" }),
    ip: z.string().nullable().openapi({ description: "The client's address" }),
    createdAt: z.string().openapi({ format: "date-time", description: "When it happened" }),
  })
  .openapi("AuditEvent", { description: "One security-relevant event" }) satisfies z.ZodType<AuditEventDto>;

export const AuditPageSchema = z
  .object({
    items: z.array(AuditEventSchema).openapi({ description: "Events, newest first" }),
    nextCursor: z.number().int().nullable().openapi({ description: "Pass as `before` for the next page; null on the last page" }),
  })
  .openapi("AuditPage", { description: "One page of audit events" });

export const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50).optional().openapi({ description: "Events per page (1–200, default 50)" }),
  before: z.coerce.number().int().positive().optional().openapi({ description: "nextCursor of the previous page" }),
});
