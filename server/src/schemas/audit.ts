import type { AuditEventDto } from "@clarive/shared";
import { z } from "./zod";

export const AuditEventSchema = z
  .object({
    id: z.number().int(),
    actor: z.string().nullable(),
    action: z.string().openapi({ example: "token.created" }),
    target: z.string().nullable().openapi({ example: "token:12" }),
    details: z.record(z.string(), z.unknown()).nullable(),
    ip: z.string().nullable(),
    createdAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("AuditEvent") satisfies z.ZodType<AuditEventDto>;

export const AuditPageSchema = z.object({ items: z.array(AuditEventSchema), nextCursor: z.number().int().nullable() }).openapi("AuditPage");

export const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50).optional(),
  before: z.coerce.number().int().positive().optional().openapi({ description: "nextCursor of the previous page" }),
});
