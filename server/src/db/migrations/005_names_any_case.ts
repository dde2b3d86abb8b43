import type { Knex } from "knex";

/**
 * Project and repository names are unique regardless of case: on a disk that ignores case,
 * demo/APP and demo/app would be one folder. The service checks before it creates; these
 * indexes settle two creations racing each other.
 */
export async function up(knex: Knex): Promise<void> {
  const clashes = await knex.raw<{ rows: { names: string }[] }>(
    `SELECT string_agg(p.name || '/' || r.name, ', ') AS names FROM repositories r JOIN projects p ON p.id = r.project_id
     GROUP BY lower(p.name), lower(r.name) HAVING count(*) > 1
     UNION ALL
     SELECT string_agg(name, ', ') FROM projects GROUP BY lower(name) HAVING count(*) > 1`,
  );
  if (clashes.rows.length > 0) {
    throw new Error(`Names that differ only in case must be renamed before upgrading: ${clashes.rows.map((r) => r.names).join("; ")}`);
  }
  await knex.raw("CREATE UNIQUE INDEX projects_name_any_case ON projects (lower(name))");
  await knex.raw("CREATE UNIQUE INDEX repositories_name_any_case ON repositories (project_id, lower(name))");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS repositories_name_any_case");
  await knex.raw("DROP INDEX IF EXISTS projects_name_any_case");
}
