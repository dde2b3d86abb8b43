import { presentRepository } from "../presenters";
import { RepositoryParams } from "../schemas/common";
import { CreateRepositoryBody, MemberSchema, RepositorySchema, SetMemberBody, UpdateRepositoryBody } from "../schemas/repositories";
import { UsernameParams } from "../schemas/users";
import { z } from "../schemas/zod";
import {
  createRepository,
  listRepositoryMembers,
  listVisibleRepositories,
  removeRepository,
  removeRepositoryMember,
  setRepositoryMember,
  setRepositorySwitches,
} from "../services/repositories";
import type { Api } from "../http/api";
import { requestPublicUrl } from "../http/publicUrl";

const MemberParams = RepositoryParams.extend(UsernameParams.shape);

export function registerRepositoryRoutes(api: Api): void {
  const { db, config } = api.deps;

  api.route({
    method: "get",
    path: "/repositories",
    operationId: "listRepositories",
    summary: "Repositories the caller can reach",
    description:
      "The repositories the caller can reach (every one for an administrator, else those the caller is a member of), each with the caller's access, its clone URL and whether personal access tokens may be used on it (`effectivePatAccess`).",
    tag: "repositories",
    auth: "user",
    success: { status: 200, description: "Repositories with their PAT access", schema: z.array(RepositorySchema) },
    handler: async ({ caller, ctx }) => {
      const publicUrl = requestPublicUrl(ctx.req, config);
      return (await listVisibleRepositories(db, caller)).map((r) => presentRepository(r, publicUrl));
    },
  });

  api.route({
    method: "post",
    path: "/repositories",
    operationId: "createRepository",
    summary: "Create a repository (admin); its project is created on first use",
    description:
      "Creates an empty bare repository `project/name`; the project is created on first use. Administrators only. Names are letters, digits, '.', '_' and '-' (starting with a letter or digit, at most 100) and unique regardless of case. A folder already on disk for the name is never adopted: 409 `repository_folder_exists`.",
    tag: "repositories",
    auth: "user",
    body: CreateRepositoryBody,
    examples: { widgets: { summary: "Create acme/widgets", value: { project: "acme", name: "widgets" } } },
    success: { status: 201, description: "The new, empty repository", schema: RepositorySchema },
    errors: ["admin_required", "invalid_name", "repository_exists", "project_name_taken", "repository_folder_exists"],
    handler: async ({ caller, body, meta, ctx }) =>
      presentRepository(await createRepository(db, config.reposDir, caller, body, meta), requestPublicUrl(ctx.req, config)),
  });

  api.route({
    method: "patch",
    path: "/repositories/{project}/{name}",
    operationId: "updateRepository",
    summary: "Set a repository's patAccess and/or pushProtection (admin)",
    description:
      "Changes the repository switches given in the body; the others keep their values. Each is 'inherit' (follow the server-wide setting), 'true' or 'false'. Administrators only; the change is audited and applies from the next git request on.",
    tag: "repositories",
    auth: "user",
    params: RepositoryParams,
    body: UpdateRepositoryBody,
    examples: { tokensOff: { summary: "Refuse personal access tokens on this repository", value: { patAccess: "false" } } },
    success: { status: 200, description: "The repository after the change", schema: RepositorySchema },
    errors: ["admin_required", "repository_not_found"],
    handler: async ({ caller, params, body, meta, ctx }) =>
      presentRepository(
        await setRepositorySwitches(db, caller, params.project, params.name, body, meta),
        requestPublicUrl(ctx.req, config),
      ),
  });

  api.route({
    method: "delete",
    path: "/repositories/{project}/{name}",
    operationId: "deleteRepository",
    summary: "Delete a repository (admin); its folder is moved to the trash, not erased",
    description:
      "Deletes the repository and its memberships. Administrators only. Its folder is moved to the trash folder of the repositories directory once the database change has committed, never erased.",
    tag: "repositories",
    auth: "user",
    params: RepositoryParams,
    success: { status: 204, description: "Deleted" },
    errors: ["admin_required", "repository_not_found"],
    handler: ({ caller, params, meta }) => removeRepository(db, config.reposDir, caller, params.project, params.name, meta),
  });

  api.route({
    method: "get",
    path: "/repositories/{project}/{name}/members",
    operationId: "listRepositoryMembers",
    summary: "Members of a repository (admin)",
    description: "The users given access to this repository directly, with their access. Administrators only.",
    tag: "repositories",
    auth: "user",
    params: RepositoryParams,
    success: { status: 200, description: "Direct members", schema: z.array(MemberSchema) },
    errors: ["admin_required", "repository_not_found"],
    handler: ({ caller, params }) => listRepositoryMembers(db, caller, params.project, params.name),
  });

  api.route({
    method: "put",
    path: "/repositories/{project}/{name}/members/{username}",
    operationId: "setRepositoryMember",
    summary: "Grant a user read or write access to a repository (admin)",
    description:
      "Gives the user `read` or `write` access to the repository, or changes it; calling it again with the same access changes nothing. Administrators only. With `write`, the user's read-write tokens may push here.",
    tag: "repositories",
    auth: "user",
    params: MemberParams,
    body: SetMemberBody,
    examples: { write: { summary: "Let the user push", value: { access: "write" } } },
    success: { status: 200, description: "The membership", schema: MemberSchema },
    errors: ["admin_required", "repository_not_found", "user_not_found"],
    handler: ({ caller, params, body, meta }) =>
      setRepositoryMember(db, caller, params.project, params.name, params.username, body.access, meta),
  });

  api.route({
    method: "delete",
    path: "/repositories/{project}/{name}/members/{username}",
    operationId: "removeRepositoryMember",
    summary: "Remove a user's access to a repository (admin)",
    description:
      "Removes the user's direct access to the repository; the user's tokens stop reaching it from the next git request on. Administrators only.",
    tag: "repositories",
    auth: "user",
    params: MemberParams,
    success: { status: 204, description: "Removed" },
    errors: ["admin_required", "repository_not_found", "user_not_found", "membership_not_found"],
    handler: ({ caller, params, meta }) => removeRepositoryMember(db, caller, params.project, params.name, params.username, meta),
  });
}
