/** Access to the built-in git extension and our credentials provider registered with it. */
import * as vscode from "vscode";
import type { GitCredentialStore } from "../git/credentialStore";
import type { GitApi, GitExtension } from "../git/gitApi";

export async function gitApi(): Promise<GitApi | undefined> {
  const extension = vscode.extensions.getExtension<GitExtension>("vscode.git");
  if (!extension) return undefined;
  const exports = extension.isActive ? extension.exports : await extension.activate();
  return exports.enabled ? exports.getAPI(1) : undefined;
}

/**
 * Registers the provider while `clarive.useGitCredentialsProvider` is on. git asks it for the
 * username first (the git extension then caches the password for that prompt).
 */
export class CredentialsProviderRegistration implements vscode.Disposable {
  private registration: vscode.Disposable | undefined;

  constructor(private readonly store: GitCredentialStore) {}

  async update(enabled: boolean): Promise<void> {
    if (enabled && !this.registration) {
      const api = await gitApi();
      if (!api) return;
      this.registration = api.registerCredentialsProvider({
        getCredentials: (host: vscode.Uri) => this.store.lookup(`${host.scheme}://${host.authority}${host.path}`),
      });
    } else if (!enabled && this.registration) {
      this.registration.dispose();
      this.registration = undefined;
    }
  }

  dispose(): void {
    this.registration?.dispose();
    this.registration = undefined;
  }
}
