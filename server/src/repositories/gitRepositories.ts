import type { Knex } from "knex";
import type { Queryable, RepositoryRow } from "./types";

const base = (db: Queryable): Knex.QueryBuilder =>
  db("repositories").join("projects", "projects.id", "repositories.project_id").select("repositories.*", "projects.name as project");

export const findRepository = (db: Queryable, project: string, name: string): Promise<RepositoryRow | undefined> =>
  base(db).where({ "projects.name": project, "repositories.name": name }).first();

export const listRepositories = (db: Queryable): Promise<RepositoryRow[]> => base(db).orderBy(["projects.name", "repositories.name"]);

export type AccessLevel = "read" | "write";

/**
 * Repositories a non-admin user reaches through a membership on the repository or on its
 * project, each with the strongest access those memberships give.
 */
export async function listReachableRepositories(db: Queryable, userId: number): Promise<(RepositoryRow & { access: AccessLevel })[]> {
  const rows = (await base(db)
    .join("memberships", function joinMemberships() {
      this.on("memberships.repository_id", "=", "repositories.id").orOn("memberships.project_id", "=", "repositories.project_id");
    })
    .where("memberships.user_id", userId)
    .select(db.raw("max(memberships.access) as access"))
    .groupBy("repositories.id", "projects.name")
    .orderBy(["projects.name", "repositories.name"])) as (RepositoryRow & { access: AccessLevel })[];
  // max() over 'read'/'write' works because 'write' sorts after 'read'.
  return rows;
}

/** The strongest membership a user has on a repository (directly or through its project), or null. */
export async function membershipAccess(db: Queryable, userId: number, repositoryId: number): Promise<AccessLevel | null> {
  const row = await db("memberships")
    .join("repositories", function joinRepository() {
      this.on("memberships.repository_id", "=", "repositories.id").orOn("memberships.project_id", "=", "repositories.project_id");
    })
    .where({ "memberships.user_id": userId, "repositories.id": repositoryId })
    .max<{ access: AccessLevel | null }>("memberships.access as access")
    .first();
  return row?.access ?? null;
}

/** The repository whose project and name match these regardless of case, if any. */
export const findRepositoryAnyCase = (db: Queryable, project: string, name: string): Promise<RepositoryRow | undefined> =>
  base(db).whereRaw("lower(projects.name) = lower(?) AND lower(repositories.name) = lower(?)", [project, name]).first();

export const findProjectAnyCase = (db: Queryable, name: string): Promise<{ id: number; name: string } | undefined> =>
  db<{ id: number; name: string }>("projects").whereRaw("lower(name) = lower(?)", [name]).first("id", "name");

export async function findOrCreateProject(db: Queryable, name: string): Promise<number> {
  await db("projects").insert({ name }).onConflict("name").ignore();
  const row = await db("projects").where({ name }).first<{ id: number }>("id");
  if (!row) throw new Error(`project ${name} vanished right after its creation`);
  return row.id;
}

export async function insertRepository(db: Queryable, projectId: number, name: string): Promise<number> {
  const [row] = await db<{ id: number; project_id: number; name: string }>("repositories")
    .insert({ project_id: projectId, name })
    .returning("id");
  if (!row) throw new Error("INSERT … RETURNING gave no row");
  return row.id;
}

export async function updateRepositorySwitches(
  db: Queryable,
  id: number,
  changes: Partial<Pick<RepositoryRow, "pat_access" | "push_protection">>,
): Promise<void> {
  await db("repositories").where({ id }).update(changes);
}

export async function deleteRepository(db: Queryable, id: number): Promise<void> {
  await db("repositories").where({ id }).delete();
}

export async function anyRepositoryWithPatAccessOn(db: Queryable): Promise<boolean> {
  const row = await db<{ id: number; pat_access: string }>("repositories").where({ pat_access: "true" }).first("id");
  return row !== undefined;
}

export async function listMembers(db: Queryable, repositoryId: number): Promise<{ username: string; access: AccessLevel }[]> {
  return db("memberships")
    .join("users", "users.id", "memberships.user_id")
    .where("memberships.repository_id", repositoryId)
    .orderBy("users.username")
    .select("users.username", "memberships.access");
}

export async function upsertRepositoryMembership(db: Queryable, userId: number, repositoryId: number, access: AccessLevel): Promise<void> {
  // The conflict target names the partial unique index, which knex's onConflict() cannot express.
  await db.raw(
    `INSERT INTO memberships (user_id, repository_id, access) VALUES (?, ?, ?)
     ON CONFLICT (user_id, repository_id) WHERE repository_id IS NOT NULL DO UPDATE SET access = EXCLUDED.access`,
    [userId, repositoryId, access],
  );
}

/** True when a membership was there to delete. */
export async function deleteRepositoryMembership(db: Queryable, userId: number, repositoryId: number): Promise<boolean> {
  // returning() rather than the affected-row count, which the PGlite dialect does not report reliably.
  const rows = await db("memberships").where({ user_id: userId, repository_id: repositoryId }).delete().returning("id");
  return rows.length > 0;
}
