import type { Knex } from "knex";

/**
 * Push protection (DESIGN §5, leaked tokens): a push that carries a live token is refused. On by
 * default, switched per repository the way pat_access is (inherit / true / false).
 * token_expiry_notices remembers when a short-lived token's owner was last warned inside git
 * that it expires soon, so a token made short on purpose nags once a day, not on every push;
 * its own table, so the stamp announces nothing on the auth change feed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("git_settings", (t) => {
    t.boolean("push_protection").notNullable().defaultTo(true);
  });
  await knex.schema.alterTable("repositories", (t) => {
    t.text("push_protection").notNullable().defaultTo("inherit");
  });
  await knex.raw(
    "ALTER TABLE repositories ADD CONSTRAINT repositories_push_protection_check CHECK (push_protection IN ('inherit', 'true', 'false'))",
  );
  await knex.schema.createTable("token_expiry_notices", (t) => {
    t.integer("token_id").primary().references("personal_access_tokens.id").onDelete("CASCADE");
    t.timestamp("notified_at", { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("token_expiry_notices");
  await knex.schema.alterTable("repositories", (t) => t.dropColumn("push_protection"));
  await knex.schema.alterTable("git_settings", (t) => t.dropColumn("push_protection"));
}
