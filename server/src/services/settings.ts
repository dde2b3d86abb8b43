import type { Knex } from "knex";
import type { GitSettingsDto } from "@clarive/shared";
import { ValidationError } from "../errors";
import { getGitSettings, updateGitSettings } from "../repositories/settings";
import { audit } from "./audit";
import { requireAdmin } from "../policies/admin";
import type { Actor, RequestMeta } from "./types";

export async function readGitSettings(db: Knex): Promise<GitSettingsDto> {
  const row = await getGitSettings(db);
  return { patAuthEnabled: row.pat_auth_enabled, maxLifetimeDays: row.max_lifetime_days };
}

export async function changeGitSettings(
  db: Knex,
  actor: Actor,
  changes: Partial<GitSettingsDto>,
  meta: RequestMeta,
): Promise<GitSettingsDto> {
  requireAdmin(actor);
  if (changes.patAuthEnabled === undefined && changes.maxLifetimeDays === undefined) {
    throw new ValidationError("Nothing to change: give patAuthEnabled and/or maxLifetimeDays");
  }
  return db.transaction(async (trx) => {
    const before = await getGitSettings(trx);
    const row = await updateGitSettings(trx, {
      ...(changes.patAuthEnabled !== undefined && { pat_auth_enabled: changes.patAuthEnabled }),
      ...(changes.maxLifetimeDays !== undefined && { max_lifetime_days: changes.maxLifetimeDays }),
    });
    await audit(trx, actor, "settings.updated", "settings:git", meta, {
      before: { patAuthEnabled: before.pat_auth_enabled, maxLifetimeDays: before.max_lifetime_days },
      after: { patAuthEnabled: row.pat_auth_enabled, maxLifetimeDays: row.max_lifetime_days },
    });
    return { patAuthEnabled: row.pat_auth_enabled, maxLifetimeDays: row.max_lifetime_days };
  });
}
