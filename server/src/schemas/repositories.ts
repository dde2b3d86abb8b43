import type { MemberDto, RepositoryDto } from "@clarive/shared";
import { z } from "./zod";

const PatAccess = z.enum(["inherit", "true", "false"]);
const MemberAccess = z.enum(["read", "write"]);

export const RepositorySchema = z
  .object({
    id: z.number().int(),
    project: z.string(),
    name: z.string(),
    fullName: z.string().openapi({ example: "acme/widgets" }),
    patAccess: PatAccess,
    effectivePatAccess: z.boolean(),
    cloneUrl: z.string().openapi({ example: "http://127.0.0.1:8080/git/acme/widgets.git" }),
    access: MemberAccess,
    createdAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Repository") satisfies z.ZodType<RepositoryDto>;

export const CreateRepositoryBody = z
  .strictObject({ project: z.string().max(200), name: z.string().max(200) })
  .openapi("CreateRepositoryRequest");

export const UpdateRepositoryBody = z.strictObject({ patAccess: PatAccess }).openapi("UpdateRepositoryRequest");

export const MemberSchema = z.object({ username: z.string(), access: MemberAccess }).openapi("Member") satisfies z.ZodType<MemberDto>;

export const SetMemberBody = z.strictObject({ access: MemberAccess }).openapi("SetMemberRequest");
