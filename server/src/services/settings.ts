import type { Knex } from "knex";
import type { GitSettingsDto } from "@clarive/shared";
import { ValidationError } from "../errors";
import { getGitSettings, updateGitSettings, type GitSettingsRow } from "../repositories/settings";
import { audit } from "./audit";
import { requireAdmin } from "../policies/admin";
import type { Actor, RequestMeta } from "./types";

const present = (row: GitSettingsRow): GitSettingsDto => ({
  patAuthEnabled: row.pat_auth_enabled,
  maxLifetimeDays: row.max_lifetime_days,
  pushProtection: row.push_protection,
});

export async function readGitSettings(db: Knex): Promise<GitSettingsDto> {
  return present(await getGitSettings(db));
}

export async function changeGitSettings(
  db: Knex,
  actor: Actor,
  changes: Partial<GitSettingsDto>,
  meta: RequestMeta,
): Promise<GitSettingsDto> {
  requireAdmin(actor);
  if (changes.patAuthEnabled === undefined && changes.maxLifetimeDays === undefined && changes.pushProtection === undefined) {
    throw new ValidationError("Nothing to change: give patAuthEnabled, maxLifetimeDays and/or pushProtection");
  }
  return db.transaction(async (trx) => {
    const before = await getGitSettings(trx);
    const row = await updateGitSettings(trx, {
      ...(changes.patAuthEnabled !== undefined && { pat_auth_enabled: changes.patAuthEnabled }),
      ...(changes.maxLifetimeDays !== undefined && { max_lifetime_days: changes.maxLifetimeDays }),
      ...(changes.pushProtection !== undefined && { push_protection: changes.pushProtection }),
    });
    await audit(trx, actor, "settings.updated", "settings:git", meta, { before: present(before), after: present(row) });
    return present(row);
  });
}
