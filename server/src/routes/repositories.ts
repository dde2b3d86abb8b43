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
  setRepositoryPatAccess,
} from "../services/repositories";
import type { Api } from "../http/api";
import { requestPublicUrl } from "../http/publicUrl";

const MemberParams = RepositoryParams.extend(UsernameParams.shape);

export function registerRepositoryRoutes(api: Api): void {
  const { db, config } = api.deps;

  api.route({
    method: "get",
    path: "/repositories",
    summary: "Repositories the caller can reach",
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
    summary: "Create a repository (admin); its project is created on first use",
    tag: "repositories",
    auth: "user",
    body: CreateRepositoryBody,
    success: { status: 201, description: "The new, empty repository", schema: RepositorySchema },
    errors: [403, 409],
    handler: async ({ caller, body, meta, ctx }) =>
      presentRepository(await createRepository(db, config.reposDir, caller, body, meta), requestPublicUrl(ctx.req, config)),
  });

  api.route({
    method: "patch",
    path: "/repositories/{project}/{name}",
    summary: "Set a repository's patAccess (admin)",
    tag: "repositories",
    auth: "user",
    params: RepositoryParams,
    body: UpdateRepositoryBody,
    success: { status: 200, description: "The repository after the change", schema: RepositorySchema },
    errors: [403, 404],
    handler: async ({ caller, params, body, meta, ctx }) =>
      presentRepository(
        await setRepositoryPatAccess(db, caller, params.project, params.name, body.patAccess, meta),
        requestPublicUrl(ctx.req, config),
      ),
  });

  api.route({
    method: "delete",
    path: "/repositories/{project}/{name}",
    summary: "Delete a repository (admin); its folder is moved to the trash, not erased",
    tag: "repositories",
    auth: "user",
    params: RepositoryParams,
    success: { status: 204, description: "Deleted" },
    errors: [403, 404],
    handler: ({ caller, params, meta }) => removeRepository(db, config.reposDir, caller, params.project, params.name, meta),
  });

  api.route({
    method: "get",
    path: "/repositories/{project}/{name}/members",
    summary: "Members of a repository (admin)",
    tag: "repositories",
    auth: "user",
    params: RepositoryParams,
    success: { status: 200, description: "Direct members", schema: z.array(MemberSchema) },
    errors: [403, 404],
    handler: ({ caller, params }) => listRepositoryMembers(db, caller, params.project, params.name),
  });

  api.route({
    method: "put",
    path: "/repositories/{project}/{name}/members/{username}",
    summary: "Grant a user read or write access to a repository (admin)",
    tag: "repositories",
    auth: "user",
    params: MemberParams,
    body: SetMemberBody,
    success: { status: 200, description: "The membership", schema: MemberSchema },
    errors: [403, 404],
    handler: ({ caller, params, body, meta }) =>
      setRepositoryMember(db, caller, params.project, params.name, params.username, body.access, meta),
  });

  api.route({
    method: "delete",
    path: "/repositories/{project}/{name}/members/{username}",
    summary: "Remove a user's access to a repository (admin)",
    tag: "repositories",
    auth: "user",
    params: MemberParams,
    success: { status: 204, description: "Removed" },
    errors: [403, 404],
    handler: ({ caller, params, meta }) => removeRepositoryMember(db, caller, params.project, params.name, params.username, meta),
  });
}
