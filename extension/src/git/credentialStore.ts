/**
 * Git credentials (username + personal access token) per host + repository path, kept in
 * SecretStorage only, never in `.git/config` or settings. The credentials provider reads from here
 * when VS Code's git (or git in the integrated terminal, through `git.terminalAuthentication`) asks.
 */
import { credentialId, credentialKeyOf, matchCredential, type StoredCredentialKey } from "../core/credentialMatching";
import type { SecretStore } from "../ui/stores";

export const GIT_CREDENTIALS_SECRET_KEY = "clarive.gitCredentials";

export interface StoredGitCredential extends StoredCredentialKey {
  token: string;
  /** "project/name" on the server, to show in "Remove Git Credentials". */
  repository: string;
}

function isStoredCredential(value: unknown): value is StoredGitCredential {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return ["host", "path", "username", "token", "repository"].every((field) => typeof entry[field] === "string");
}

export class GitCredentialStore {
  constructor(private readonly secrets: SecretStore) {}

  async all(): Promise<StoredGitCredential[]> {
    const text = await this.secrets.get(GIT_CREDENTIALS_SECRET_KEY);
    if (!text) return [];
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter(isStoredCredential) : [];
    } catch {
      return [];
    }
  }

  private async save(entries: StoredGitCredential[]): Promise<void> {
    if (entries.length === 0) await this.secrets.delete(GIT_CREDENTIALS_SECRET_KEY);
    else await this.secrets.store(GIT_CREDENTIALS_SECRET_KEY, JSON.stringify(entries));
  }

  /** Stores (or replaces) the credential for a remote URL. */
  async set(remoteUrl: string, username: string, token: string, repository: string): Promise<StoredGitCredential> {
    const entry: StoredGitCredential = { ...credentialKeyOf(remoteUrl, username), token, repository };
    const others = (await this.all()).filter((stored) => credentialId(stored) !== credentialId(entry));
    await this.save([...others, entry]);
    return entry;
  }

  async remove(entry: Pick<StoredCredentialKey, "host" | "path">): Promise<boolean> {
    const all = await this.all();
    const kept = all.filter((stored) => credentialId(stored) !== credentialId(entry));
    await this.save(kept);
    return kept.length !== all.length;
  }

  async forRemoteUrl(remoteUrl: string): Promise<StoredGitCredential | undefined> {
    return matchCredential(remoteUrl, await this.all());
  }

  /** What the credentials provider answers for a prompt URL. */
  async lookup(promptUrl: string): Promise<{ username: string; password: string } | undefined> {
    const entry = matchCredential(promptUrl, await this.all());
    return entry && { username: entry.username, password: entry.token };
  }
}
