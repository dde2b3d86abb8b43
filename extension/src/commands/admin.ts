/** Administrator commands (shown only when `clarive.isAdmin`): the global switch and per-repository PAT access. */
import type { GitSettingsDto, PatAccess, RepositoryDto } from "@clarive/shared";
import { describeError } from "../api/errors";
import { requireSignedIn, type CommandDeps } from "./deps";

async function requireAdmin(deps: CommandDeps) {
  const signedIn = await requireSignedIn(deps);
  if (signedIn && !signedIn.user.isAdmin) {
    await deps.ui().message("warning", "Only Clarive administrators can change this.", {});
    return undefined;
  }
  return signedIn;
}

export async function toggleGlobalPatAuth(deps: CommandDeps): Promise<GitSettingsDto | undefined> {
  const signedIn = await requireAdmin(deps);
  if (!signedIn) return undefined;
  const ui = deps.ui();
  try {
    const settings = await signedIn.client.gitSettings();
    const action = settings.patAuthEnabled ? "Turn Off" : "Turn On";
    const answer = await ui.message(
      "warning",
      `Personal access tokens are ${settings.patAuthEnabled ? "ON" : "OFF"} for repositories that inherit the global setting.`,
      {
        modal: true,
        detail: settings.patAuthEnabled
          ? "Turning it off makes git refuse every token on those repositories at once."
          : "Turning it on lets tokens clone, fetch and push on those repositories.",
      },
      action,
    );
    if (answer !== action) return undefined;
    const updated = await signedIn.client.updateGitSettings({ patAuthEnabled: !settings.patAuthEnabled });
    deps.log(`global PAT authentication ${updated.patAuthEnabled ? "on" : "off"}`);
    void ui.message("info", `Personal access token authentication is now ${updated.patAuthEnabled ? "on" : "off"} globally.`, {});
    await deps.refreshTokens();
    return updated;
  } catch (error) {
    await ui.message("error", `Could not change the setting: ${describeError(error)}`, {});
    return undefined;
  }
}

const ACCESS_LABELS: Record<PatAccess, string> = {
  inherit: "Inherit the global setting",
  true: "Allow personal access tokens",
  false: "Refuse personal access tokens",
};

export async function setRepositoryPatAccess(deps: CommandDeps): Promise<RepositoryDto | undefined> {
  const signedIn = await requireAdmin(deps);
  if (!signedIn) return undefined;
  const ui = deps.ui();
  try {
    const [repositories, settings] = await Promise.all([signedIn.client.repositories(), signedIn.client.gitSettings()]);
    const repository = await ui.pickOne(
      repositories.map((entry) => ({
        label: entry.fullName,
        description: `pat_access: ${entry.patAccess} (tokens ${entry.effectivePatAccess ? "allowed" : "refused"})`,
        entry,
      })),
      { title: "Set Repository PAT Access", placeHolder: "Which repository?" },
    );
    if (!repository) return undefined;
    const access = await ui.pickOne(
      (["inherit", "true", "false"] as const).map((value) => ({
        label: ACCESS_LABELS[value],
        description: value === "inherit" ? `globally ${settings.patAuthEnabled ? "on" : "off"}` : value,
        detail: value === repository.entry.patAccess ? "current" : undefined,
        value,
      })),
      { title: `PAT access for ${repository.entry.fullName}`, placeHolder: `Currently: ${repository.entry.patAccess}` },
    );
    if (!access) return undefined;
    const updated = await signedIn.client.setRepositoryPatAccess(repository.entry.fullName, access.value);
    deps.log(`pat_access of ${updated.fullName} = ${updated.patAccess}`);
    void ui.message(
      "info",
      `${updated.fullName}: pat_access ${updated.patAccess}, tokens ${updated.effectivePatAccess ? "allowed" : "refused"}.`,
      {},
    );
    return updated;
  } catch (error) {
    await ui.message("error", `Could not change PAT access: ${describeError(error)}`, {});
    return undefined;
  }
}
