import type { Knex } from "knex";

/**
 * Running instances of the service, each with the time of its last heartbeat and whether its
 * LISTEN connection is up. A REST call that takes rights away waits until every live
 * instance has acknowledged it (gitAccess/changeFeed.ts), so it must know who is live.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("service_instances", (t) => {
    t.text("id").primary();
    t.timestamp("started_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("heartbeat_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.boolean("listening").notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("service_instances");
}
