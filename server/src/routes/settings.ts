import { GitSettingsSchema, UpdateGitSettingsBody } from "../schemas/settings";
import { changeGitSettings, readGitSettings } from "../services/settings";
import type { Api } from "../http/api";

export function registerSettingsRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "get",
    path: "/settings/git",
    summary: "Global git settings",
    tag: "settings",
    auth: "user",
    success: { status: 200, description: "The settings", schema: GitSettingsSchema },
    handler: () => readGitSettings(db),
  });

  api.route({
    method: "put",
    path: "/settings/git",
    summary: "Change global git settings (admin)",
    tag: "settings",
    auth: "user",
    body: UpdateGitSettingsBody,
    success: { status: 200, description: "The settings after the change", schema: GitSettingsSchema },
    errors: [403],
    handler: ({ caller, body, meta }) => changeGitSettings(db, caller, body, meta),
  });
}
