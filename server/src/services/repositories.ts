import type { Knex } from "knex";
import { nameProblem, type MemberAccess, type RepositorySwitch } from "@clarive/shared";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import {
  bareRepositoryPath,
  FolderExistsError,
  initBareRepository,
  moveRepositoryToTrash,
  removeNewRepository,
  trashPath,
} from "../lib/bareRepository";
import {
  deleteRepository,
  deleteRepositoryMembership,
  findOrCreateProject,
  findProjectAnyCase,
  findRepository,
  findRepositoryAnyCase,
  insertRepository,
  listMembers,
  listReachableRepositories,
  listRepositories,
  updateRepositorySwitches,
  upsertRepositoryMembership,
  type AccessLevel,
} from "../repositories/gitRepositories";
import { getGitSettings, type GitSettingsRow } from "../repositories/settings";
import type { Queryable, RepositoryRow } from "../repositories/types";
import { findUserByUsername } from "../repositories/users";
import { audit } from "./audit";
import { requireAdmin } from "../policies/admin";
import { effectivePatAccess, effectivePushProtection } from "../policies/patAccess";
import type { Actor, RequestMeta } from "./types";

export interface RepositoryView extends RepositoryRow {
  access: AccessLevel;
  effectivePatAccess: boolean;
  effectivePushProtection: boolean;
}

const withEffectiveSwitches = <T extends RepositoryRow>(repository: T, settings: GitSettingsRow) => ({
  ...repository,
  effectivePatAccess: effectivePatAccess(repository.pat_access, settings.pat_auth_enabled),
  effectivePushProtection: effectivePushProtection(repository.push_protection, settings.push_protection),
});

export async function listVisibleRepositories(db: Knex, actor: Actor): Promise<RepositoryView[]> {
  const settings = await getGitSettings(db);
  const rows: (RepositoryRow & { access: AccessLevel })[] = actor.isAdmin
    ? (await listRepositories(db)).map((r) => ({ ...r, access: "write" as const }))
    : await listReachableRepositories(db, actor.id);
  return rows.map((r) => withEffectiveSwitches(r, settings));
}

async function requireRepository(db: Queryable, project: string, name: string): Promise<RepositoryRow> {
  const repository = await findRepository(db, project, name);
  if (!repository) throw new NotFoundError(`No repository ${project}/${name}`, "repository_not_found");
  return repository;
}

async function view(db: Queryable, repository: RepositoryRow): Promise<RepositoryView> {
  return withEffectiveSwitches({ ...repository, access: "write" as const }, await getGitSettings(db));
}

export async function createRepository(
  db: Knex,
  reposDir: string,
  actor: Actor,
  input: { project: string; name: string },
  meta: RequestMeta,
): Promise<RepositoryView> {
  requireAdmin(actor);
  const problems = [nameProblem("project", input.project), nameProblem("repository", input.name)].filter(Boolean);
  if (problems.length > 0) throw new ValidationError(problems.join("; "), undefined, "invalid_name");
  const directory = bareRepositoryPath(reposDir, input.project, input.name);
  let createdFolder = false;
  try {
    return await db.transaction(async (trx) => {
      // Names are unique regardless of case: demo/APP beside demo/app is one folder on a disk that ignores case.
      const existing = await findRepositoryAnyCase(trx, input.project, input.name);
      if (existing) throw new ConflictError(`Repository ${existing.project}/${existing.name} already exists`, "repository_exists");
      const project = await findProjectAnyCase(trx, input.project);
      if (project && project.name !== input.project) {
        throw new ConflictError(
          `A project named ${project.name} already exists; names are unique regardless of case`,
          "project_name_taken",
        );
      }
      const projectId = project?.id ?? (await findOrCreateProject(trx, input.project));
      await insertRepository(trx, projectId, input.name);
      // Inside the transaction: if git fails, the row is rolled back with it.
      try {
        await initBareRepository(directory);
      } catch (error) {
        if (error instanceof FolderExistsError) {
          throw new ConflictError(
            `${input.project}/${input.name} already has a folder in the repositories directory (another instance's data, or a restore); move it away or choose another name`,
            "repository_folder_exists",
          );
        }
        throw error;
      }
      createdFolder = true;
      await audit(trx, actor, "repository.created", `repository:${input.project}/${input.name}`, meta);
      return view(trx, await requireRepository(trx, input.project, input.name));
    });
  } catch (error) {
    // The folder exists exactly when the row does: a rolled-back creation leaves none behind.
    if (createdFolder) await removeNewRepository(directory);
    // Two creations of names differing only in case, racing: the unique index decided.
    if (isUniqueViolation(error)) throw new ConflictError(`Repository ${input.project}/${input.name} already exists`, "repository_exists");
    throw error;
  }
}

export interface RepositorySwitchChanges {
  patAccess?: RepositorySwitch | undefined;
  pushProtection?: RepositorySwitch | undefined;
}

/** An administrator sets a repository's patAccess and/or pushProtection; each change is audited. */
export async function setRepositorySwitches(
  db: Knex,
  actor: Actor,
  project: string,
  name: string,
  changes: RepositorySwitchChanges,
  meta: RequestMeta,
): Promise<RepositoryView> {
  requireAdmin(actor);
  return db.transaction(async (trx) => {
    const repository = await requireRepository(trx, project, name);
    const after: RepositoryRow = {
      ...repository,
      pat_access: changes.patAccess ?? repository.pat_access,
      push_protection: changes.pushProtection ?? repository.push_protection,
    };
    await updateRepositorySwitches(trx, repository.id, { pat_access: after.pat_access, push_protection: after.push_protection });
    const target = `repository:${project}/${name}`;
    if (after.pat_access !== repository.pat_access) {
      await audit(trx, actor, "repository.pat_access_changed", target, meta, { before: repository.pat_access, after: after.pat_access });
    }
    if (after.push_protection !== repository.push_protection) {
      await audit(trx, actor, "repository.push_protection_changed", target, meta, {
        before: repository.push_protection,
        after: after.push_protection,
      });
    }
    return view(trx, after);
  });
}

export async function removeRepository(
  db: Knex,
  reposDir: string,
  actor: Actor,
  project: string,
  name: string,
  meta: RequestMeta,
): Promise<void> {
  requireAdmin(actor);
  const movedTo = trashPath(reposDir, `${project}/${name}`);
  await db.transaction(async (trx) => {
    const repository = await requireRepository(trx, project, name);
    await deleteRepository(trx, repository.id);
    await audit(trx, actor, "repository.deleted", `repository:${project}/${name}`, meta, { movedTo });
  });
  // Only once the deletion has committed: a rolled-back one must find its folder where it was.
  await moveRepositoryToTrash(bareRepositoryPath(reposDir, project, name), movedTo);
}

export async function listRepositoryMembers(
  db: Knex,
  actor: Actor,
  project: string,
  name: string,
): Promise<{ username: string; access: MemberAccess }[]> {
  requireAdmin(actor);
  const repository = await requireRepository(db, project, name);
  return listMembers(db, repository.id);
}

export async function setRepositoryMember(
  db: Knex,
  actor: Actor,
  project: string,
  name: string,
  username: string,
  access: MemberAccess,
  meta: RequestMeta,
): Promise<{ username: string; access: MemberAccess }> {
  requireAdmin(actor);
  return db.transaction(async (trx) => {
    const repository = await requireRepository(trx, project, name);
    const user = await findUserByUsername(trx, username);
    if (!user) throw new NotFoundError(`No user named "${username}"`, "user_not_found");
    await upsertRepositoryMembership(trx, user.id, repository.id, access);
    await audit(trx, actor, "membership.set", `repository:${project}/${name}`, meta, { user: user.username, access });
    return { username: user.username, access };
  });
}

export async function removeRepositoryMember(
  db: Knex,
  actor: Actor,
  project: string,
  name: string,
  username: string,
  meta: RequestMeta,
): Promise<void> {
  requireAdmin(actor);
  await db.transaction(async (trx) => {
    const repository = await requireRepository(trx, project, name);
    const user = await findUserByUsername(trx, username);
    if (!user) throw new NotFoundError(`No user named "${username}"`, "user_not_found");
    if (!(await deleteRepositoryMembership(trx, user.id, repository.id))) {
      throw new NotFoundError(`${user.username} is not a member of ${project}/${name}`, "membership_not_found");
    }
    await audit(trx, actor, "membership.removed", `repository:${project}/${name}`, meta, { user: user.username });
  });
}

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === "23505";
