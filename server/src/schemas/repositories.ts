import type { MemberDto, RepositoryDto } from "@clarive/shared";
import { z } from "./zod";

const RepositorySwitch = z.enum(["inherit", "true", "false"]);
const MemberAccess = z.enum(["read", "write"]).openapi({ description: "read: clone and fetch; write: push too" });

export const RepositorySchema = z
  .object({
    id: z.number().int().openapi({ description: "Identifies the repository" }),
    project: z.string().openapi({ description: "The project, the first part of the full name", example: "acme" }),
    name: z.string().openapi({ description: "The repository's name within its project", example: "widgets" }),
    fullName: z.string().openapi({ description: "project/name", example: "acme/widgets" }),
    patAccess: RepositorySwitch.openapi({ description: "Whether tokens may be used here; 'inherit' follows patAuthEnabled" }),
    effectivePatAccess: z
      .boolean()
      .openapi({ description: "Whether personal access tokens work here now: patAccess, or patAuthEnabled when it is 'inherit'" }),
    pushProtection: RepositorySwitch.openapi({
      description: "Whether pushes carrying a live token are refused; 'inherit' follows the global pushProtection",
    }),
    effectivePushProtection: z.boolean().openapi({
      description: "Whether pushes carrying a live token are refused here now: pushProtection, or the global one when it is 'inherit'",
    }),
    cloneUrl: z.string().openapi({
      description: "For git clone; git asks for a username and a personal access token",
      example: "http://127.0.0.1:8080/git/acme/widgets.git",
    }),
    access: MemberAccess.openapi({ description: "The caller's access (administrators: write)" }),
    createdAt: z.string().openapi({ format: "date-time", description: "When the repository was created" }),
  })
  .openapi("Repository", { description: "A bare git repository, as the caller sees it" }) satisfies z.ZodType<RepositoryDto>;

export const CreateRepositoryBody = z
  .strictObject({
    project: z.string().max(200).openapi({ description: "The project; created on first use", example: "acme" }),
    name: z.string().max(200).openapi({ description: "The repository's name, without .git", example: "widgets" }),
  })
  .openapi("CreateRepositoryRequest", { description: "The full name of a new, empty repository" });

export const UpdateRepositoryBody = z
  .strictObject({
    patAccess: RepositorySwitch.optional().openapi({
      description: "Allow (true) or refuse (false) tokens here, or follow patAuthEnabled (inherit)",
    }),
    pushProtection: RepositorySwitch.optional().openapi({
      description: "Refuse (true) or allow (false) pushes carrying a live token here, or follow the global pushProtection (inherit)",
    }),
  })
  .refine((body) => body.patAccess !== undefined || body.pushProtection !== undefined, {
    message: "Nothing to change: give patAccess and/or pushProtection",
  })
  .openapi("UpdateRepositoryRequest", { description: "The repository switches to change; the others keep their values" });

export const MemberSchema = z
  .object({ username: z.string().openapi({ description: "The member's login name", example: "alice" }), access: MemberAccess })
  .openapi("Member", { description: "A user with direct access to a repository" }) satisfies z.ZodType<MemberDto>;

export const SetMemberBody = z.strictObject({ access: MemberAccess }).openapi("SetMemberRequest", { description: "The access to give" });
