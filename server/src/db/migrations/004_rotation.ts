import type { Knex } from "knex";

/**
 * Rotation (POST /tokens/{id}/rotate): a token gets a new secret and keeps its id, scope and
 * permission. Every secret it had before stays here, by hash, for good: within its grace
 * window it still works, after it any use is recorded as reuse (reuse_detected_at).
 * lifetime_seconds keeps the lifetime the token was created with, so a rotation starts the
 * same lifetime over.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("personal_access_tokens", (t) => {
    t.integer("lifetime_seconds");
    t.timestamp("rotated_at", { useTz: true });
    t.timestamp("reuse_detected_at", { useTz: true });
  });
  await knex.raw("UPDATE personal_access_tokens SET lifetime_seconds = round(extract(epoch FROM expires_at - created_at))");
  await knex.schema.createTable("personal_access_token_retired_secrets", (t) => {
    t.text("token_hash").primary();
    t.integer("token_id").notNullable().references("personal_access_tokens.id").onDelete("CASCADE");
    t.timestamp("retired_at", { useTz: true }).notNullable();
    t.timestamp("valid_until", { useTz: true }).notNullable();
    t.index(["token_id"]);
  });
  // A retired secret is a fact git auth decides on: announced like the others (migration 002).
  await knex.raw(
    "CREATE TRIGGER personal_access_token_retired_secrets_notify_auth AFTER INSERT OR UPDATE OR DELETE ON personal_access_token_retired_secrets FOR EACH STATEMENT EXECUTE FUNCTION clarive_notify_auth_change()",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("personal_access_token_retired_secrets");
  await knex.schema.alterTable("personal_access_tokens", (t) => {
    t.dropColumn("lifetime_seconds");
    t.dropColumn("rotated_at");
    t.dropColumn("reuse_detected_at");
  });
}
