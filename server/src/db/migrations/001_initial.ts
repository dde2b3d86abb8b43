import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("users", (t) => {
    t.increments("id").primary();
    t.text("username").notNullable();
    t.text("password_hash").notNullable();
    t.boolean("is_admin").notNullable().defaultTo(false);
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Usernames are unique regardless of case, as on GitHub/GitLab: "Alice" cannot shadow "alice".
  await knex.raw("CREATE UNIQUE INDEX users_username_lower_unique ON users (lower(username))");

  await knex.schema.createTable("api_keys", (t) => {
    t.increments("id").primary();
    t.integer("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.text("label").notNullable();
    t.specificType("key_hash", "char(64)").notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("last_used_at", { useTz: true });
  });

  await knex.schema.createTable("projects", (t) => {
    t.increments("id").primary();
    t.text("name").notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("repositories", (t) => {
    t.increments("id").primary();
    t.integer("project_id").notNullable().references("projects.id").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("pat_access").notNullable().defaultTo("inherit");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["project_id", "name"]);
  });
  await knex.raw(
    "ALTER TABLE repositories ADD CONSTRAINT repositories_pat_access_check CHECK (pat_access IN ('inherit', 'true', 'false'))",
  );

  // A membership is on one repository or on a whole project, never both.
  await knex.schema.createTable("memberships", (t) => {
    t.increments("id").primary();
    t.integer("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.integer("project_id").references("projects.id").onDelete("CASCADE");
    t.integer("repository_id").references("repositories.id").onDelete("CASCADE");
    t.text("access").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE memberships
    ADD CONSTRAINT memberships_access_check CHECK (access IN ('read', 'write')),
    ADD CONSTRAINT memberships_target_check CHECK ((project_id IS NULL) <> (repository_id IS NULL))`);
  await knex.raw(
    "CREATE UNIQUE INDEX memberships_user_repository_unique ON memberships (user_id, repository_id) WHERE repository_id IS NOT NULL",
  );
  await knex.raw("CREATE UNIQUE INDEX memberships_user_project_unique ON memberships (user_id, project_id) WHERE project_id IS NOT NULL");

  // One row, enforced by the primary key's check: global settings.
  await knex.schema.createTable("git_settings", (t) => {
    t.integer("id").primary();
    t.boolean("pat_auth_enabled").notNullable().defaultTo(false);
    t.integer("max_lifetime_days").notNullable().defaultTo(730);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE git_settings
    ADD CONSTRAINT git_settings_single_row CHECK (id = 1),
    ADD CONSTRAINT git_settings_lifetime_check CHECK (max_lifetime_days BETWEEN 7 AND 730)`);
  await knex("git_settings").insert({ id: 1 });

  await knex.schema.createTable("personal_access_tokens", (t) => {
    t.increments("id").primary();
    t.integer("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.text("description").notNullable();
    t.text("permission").notNullable();
    // false = the token reaches only the repositories listed in personal_access_token_repositories;
    // kept apart from the list so that deleting the last scoped repository never widens a token to "all".
    t.boolean("all_repositories").notNullable();
    t.specificType("token_hash", "char(64)").notNullable().unique();
    t.text("token_hint").notNullable();
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("last_used_at", { useTz: true });
    t.text("last_used_ip");
    t.index(["user_id"]);
  });
  await knex.raw("ALTER TABLE personal_access_tokens ADD CONSTRAINT pat_permission_check CHECK (permission IN ('read', 'read-write'))");

  await knex.schema.createTable("personal_access_token_repositories", (t) => {
    t.integer("token_id").notNullable().references("personal_access_tokens.id").onDelete("CASCADE");
    t.integer("repository_id").notNullable().references("repositories.id").onDelete("CASCADE");
    t.primary(["token_id", "repository_id"]);
  });

  await knex.schema.createTable("audit_events", (t) => {
    t.bigIncrements("id").primary();
    t.integer("actor_id").references("users.id").onDelete("SET NULL");
    // The name is kept as written so the trail survives a user's removal and records failed logins.
    t.text("actor_name");
    t.text("action").notNullable();
    t.text("target");
    t.jsonb("details");
    t.text("ip");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "audit_events",
    "personal_access_token_repositories",
    "personal_access_tokens",
    "git_settings",
    "memberships",
    "repositories",
    "projects",
    "api_keys",
    "users",
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
