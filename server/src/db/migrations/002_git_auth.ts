import type { Knex } from "knex";
import { AUTH_CHANNEL, THROTTLE_CHANNEL } from "../channels";

/**
 * Git authentication caches every instance's view of tokens, users, repositories,
 * memberships and settings. Triggers announce each change that can alter an auth decision
 * on the `clarive_auth` channel, so no service code path can forget to; the notification is
 * delivered when the changing transaction commits. Last-use stamps are left out on purpose.
 */

const WATCHED: [table: string, events: string][] = [
  ["users", "INSERT OR UPDATE OR DELETE"],
  ["personal_access_tokens", "INSERT OR DELETE OR UPDATE OF active, permission, all_repositories, expires_at, user_id, token_hash"],
  ["personal_access_token_repositories", "INSERT OR UPDATE OR DELETE"],
  ["repositories", "INSERT OR UPDATE OR DELETE"],
  ["memberships", "INSERT OR UPDATE OR DELETE"],
  ["git_settings", "INSERT OR UPDATE OR DELETE"],
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE FUNCTION clarive_notify_auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${AUTH_CHANNEL}', TG_TABLE_NAME);
      RETURN NULL;
    END $$`);
  for (const [table, events] of WATCHED) {
    await knex.raw(
      `CREATE TRIGGER ${table}_notify_auth AFTER ${events} ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION clarive_notify_auth_change()`,
    );
  }

  // Failed git logins per client IP ("ip:…") and per username ("user:…"), shared by all instances.
  await knex.schema.createTable("auth_throttle", (t) => {
    t.text("key").primary();
    t.integer("failures").notNullable();
    t.timestamp("window_started_at", { useTz: true }).notNullable();
    t.timestamp("blocked_until", { useTz: true });
  });
  await knex.raw(`CREATE FUNCTION clarive_notify_throttle() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('${THROTTLE_CHANNEL}', json_build_object('key', OLD.key, 'failures', 0)::text);
      ELSE
        PERFORM pg_notify('${THROTTLE_CHANNEL}', json_build_object(
          'key', NEW.key, 'failures', NEW.failures,
          'windowStartedAt', NEW.window_started_at, 'blockedUntil', NEW.blocked_until)::text);
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(
    "CREATE TRIGGER auth_throttle_notify AFTER INSERT OR UPDATE OR DELETE ON auth_throttle FOR EACH ROW EXECUTE FUNCTION clarive_notify_throttle()",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("auth_throttle");
  await knex.raw("DROP FUNCTION IF EXISTS clarive_notify_throttle() CASCADE");
  for (const [table] of WATCHED) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_notify_auth ON ${table}`);
  await knex.raw("DROP FUNCTION IF EXISTS clarive_notify_auth_change()");
}
