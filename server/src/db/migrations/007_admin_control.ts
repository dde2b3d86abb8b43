import type { Knex } from "knex";

/**
 * Administrators' control (issue 11):
 * - `allowed_ips`: a token's IP allow-list, a fact git auth decides on, so its trigger (migration
 *   002) now also fires when it changes;
 * - `personal_access_token_ips`: the last distinct client addresses a token was used from (like the
 *   last-use stamps, not a decision fact: no trigger);
 * - `personal_access_token_tombstones`: the hashes of deleted tokens' secrets, written by a trigger
 *   whatever deletes the row, so git auth can tell "this token was deleted" (not a guess, never
 *   counted toward a lockout) from an unknown secret;
 * - an index for the inventory's newest-first pages.
 */
const TOKEN_EVENTS_BEFORE = "INSERT OR DELETE OR UPDATE OF active, permission, all_repositories, expires_at, user_id, token_hash";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("personal_access_tokens", (t) => {
    t.specificType("allowed_ips", "text[]").notNullable().defaultTo(knex.raw("'{}'::text[]"));
    t.index(["created_at", "id"], "personal_access_tokens_created_idx");
  });
  await knex.raw("DROP TRIGGER personal_access_tokens_notify_auth ON personal_access_tokens");
  await knex.raw(
    `CREATE TRIGGER personal_access_tokens_notify_auth AFTER ${TOKEN_EVENTS_BEFORE}, allowed_ips ON personal_access_tokens FOR EACH STATEMENT EXECUTE FUNCTION clarive_notify_auth_change()`,
  );

  await knex.schema.createTable("personal_access_token_ips", (t) => {
    t.integer("token_id").notNullable().references("personal_access_tokens.id").onDelete("CASCADE");
    t.text("ip").notNullable();
    t.timestamp("last_used_at", { useTz: true }).notNullable();
    t.primary(["token_id", "ip"]);
  });

  await knex.schema.createTable("personal_access_token_tombstones", (t) => {
    t.text("token_hash").primary();
    t.integer("token_id").notNullable();
    t.integer("user_id").notNullable();
    t.timestamp("deleted_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`CREATE FUNCTION clarive_token_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO personal_access_token_tombstones (token_hash, token_id, user_id)
        SELECT OLD.token_hash, OLD.id, OLD.user_id
        UNION ALL
        SELECT r.token_hash, OLD.id, OLD.user_id FROM personal_access_token_retired_secrets r WHERE r.token_id = OLD.id
      ON CONFLICT (token_hash) DO NOTHING;
      RETURN OLD;
    END $$`);
  await knex.raw(
    "CREATE TRIGGER personal_access_tokens_tombstone BEFORE DELETE ON personal_access_tokens FOR EACH ROW EXECUTE FUNCTION clarive_token_tombstone()",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TRIGGER IF EXISTS personal_access_tokens_tombstone ON personal_access_tokens");
  await knex.raw("DROP FUNCTION IF EXISTS clarive_token_tombstone()");
  await knex.schema.dropTableIfExists("personal_access_token_tombstones");
  await knex.schema.dropTableIfExists("personal_access_token_ips");
  await knex.raw("DROP TRIGGER personal_access_tokens_notify_auth ON personal_access_tokens");
  await knex.raw(
    `CREATE TRIGGER personal_access_tokens_notify_auth AFTER ${TOKEN_EVENTS_BEFORE} ON personal_access_tokens FOR EACH STATEMENT EXECUTE FUNCTION clarive_notify_auth_change()`,
  );
  await knex.schema.alterTable("personal_access_tokens", (t) => {
    t.dropIndex(["created_at", "id"], "personal_access_tokens_created_idx");
    t.dropColumn("allowed_ips");
  });
}
