import type { Queryable } from "./types";

export interface GitSettingsRow {
  pat_auth_enabled: boolean;
  max_lifetime_days: number;
  push_protection: boolean;
}

export async function getGitSettings(db: Queryable): Promise<GitSettingsRow> {
  const row: GitSettingsRow | undefined = await db("git_settings")
    .where({ id: 1 })
    .first("pat_auth_enabled", "max_lifetime_days", "push_protection");
  if (!row) throw new Error("git_settings row is missing: the migrations did not run");
  return row;
}

export async function updateGitSettings(db: Queryable, changes: Partial<GitSettingsRow>): Promise<GitSettingsRow> {
  const [row] = await db<GitSettingsRow & { id: number; updated_at: Date }>("git_settings")
    .where({ id: 1 })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning(["pat_auth_enabled", "max_lifetime_days", "push_protection"]);
  if (!row) throw new Error("git_settings row is missing: the migrations did not run");
  return row;
}
