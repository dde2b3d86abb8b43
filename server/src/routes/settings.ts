import { GitSettingsSchema, UpdateGitSettingsBody } from "../schemas/settings";
import { changeGitSettings, readGitSettings } from "../services/settings";
import type { Api } from "../http/api";

export function registerSettingsRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "get",
    path: "/settings/git",
    operationId: "getGitSettings",
    summary: "Global git settings",
    description:
      "The server-wide git settings. Any logged-in user may read them (the VS Code extension shows the longest token lifetime allowed).",
    tag: "settings",
    auth: "user",
    success: { status: 200, description: "The settings", schema: GitSettingsSchema },
    handler: () => readGitSettings(db),
  });

  api.route({
    method: "put",
    path: "/settings/git",
    operationId: "updateGitSettings",
    summary: "Change global git settings (admin)",
    description:
      "Changes the settings given in the body; the others keep their values. Administrators only; the change is audited. `patAuthEnabled: false` refuses tokens on every repository whose patAccess is 'inherit' from the next git request on, on every instance. `maxLifetimeDays` caps the lifetime of tokens created or rotated from then on.",
    tag: "settings",
    auth: "user",
    body: UpdateGitSettingsBody,
    examples: {
      tokensOff: { summary: "Turn token authentication off", value: { patAuthEnabled: false } },
      shorterLifetime: { summary: "Tokens live at most 90 days", value: { maxLifetimeDays: 90 } },
    },
    success: { status: 200, description: "The settings after the change", schema: GitSettingsSchema },
    errors: ["admin_required"],
    handler: ({ caller, body, meta }) => changeGitSettings(db, caller, body, meta),
  });
}
