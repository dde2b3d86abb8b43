import type { Knex } from "knex";
import * as initial from "./001_initial";
import * as gitAuth from "./002_git_auth";
import * as instances from "./003_instances";
import * as rotation from "./004_rotation";
import * as namesAnyCase from "./005_names_any_case";
import * as pushProtection from "./006_push_protection";
import * as adminControl from "./007_admin_control";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Migrations are imported, not discovered on disk, so they run the same under tsx, a bundle or tests.
const migrations: Record<string, Migration> = {
  "001_initial": initial,
  "002_git_auth": gitAuth,
  "003_instances": instances,
  "004_rotation": rotation,
  "005_names_any_case": namesAnyCase,
  "006_push_protection": pushProtection,
  "007_admin_control": adminControl,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`Unknown migration ${name}`);
    return migration;
  },
};
