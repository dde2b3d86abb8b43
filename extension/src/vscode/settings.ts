/** The `clarive.*` settings of the manifest, read fresh each time so changes apply at once. */
import * as vscode from "vscode";
import type { ExtensionSettings } from "../ui/stores";

const section = () => vscode.workspace.getConfiguration("clarive");

export const vscodeSettings: ExtensionSettings = {
  serverUrl: () => section().get<string>("serverUrl", "").trim(),
  setServerUrl: (url) => section().update("serverUrl", url, vscode.ConfigurationTarget.Global),
  expiryWarningDays: () => {
    const days = section().get<number>("expiryWarningDays", 7);
    return Number.isFinite(days) && days >= 0 ? days : 7;
  },
  useGitCredentialsProvider: () => section().get<boolean>("useGitCredentialsProvider", true),
  caCertificate: () => section().get<string>("caCertificate", "").trim(),
};
