/**
 * Git credentials (username + personal access token) per host + repository path, kept in
 * SecretStorage only, never in `.git/config` or settings. The credentials provider reads from here
 * when VS Code's git (or git in the integrated terminal, through `git.terminalAuthentication`) asks.
 */
import { secretHint } from "@clarive/shared";
import { credentialId, credentialKeyOf, isUnderServer, matchCredential, type StoredCredentialKey } from "../core/credentialMatching";
import type { SecretStore } from "../ui/stores";

export const GIT_CREDENTIALS_SECRET_KEY = "clarive.gitCredentials";

export interface StoredGitCredential extends StoredCredentialKey {
  token: string;
  /** "project/name" on the server, to show in "Remove Git Credentials". */
  repository: string;
  /**
   * The server's id of the token, so rotating, deactivating or removing it finds this entry.
   * Entries stored by earlier versions have none: they are matched by the token's hint instead.
   */
  tokenId?: number;
}

/** The token a credential is for, as the token list shows it. */
export interface TokenRef {
  id: number;
  hint: string;
}

function isStoredCredential(value: unknown): value is StoredGitCredential {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    ["host", "path", "username", "token", "repository"].every((field) => typeof entry[field] === "string") &&
    (entry.tokenId === undefined || typeof entry.tokenId === "number")
  );
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
  async set(remoteUrl: string, username: string, token: string, repository: string, tokenId?: number): Promise<StoredGitCredential> {
    const entry: StoredGitCredential = {
      ...credentialKeyOf(remoteUrl, username),
      token,
      repository,
      ...(tokenId !== undefined && { tokenId }),
    };
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

  /** Every credential stored for this token of this server's user (by id, or by hint for older entries). */
  async forToken(serverUrl: string, username: string, token: TokenRef): Promise<StoredGitCredential[]> {
    return (await this.all()).filter((entry) => usesToken(entry, serverUrl, username, token));
  }

  /** Every credential stored for a repository of this server, any user. */
  async forServer(serverUrl: string): Promise<StoredGitCredential[]> {
    return (await this.all()).filter((entry) => isUnderServer(entry, serverUrl));
  }

  /** Puts a rotated token's new secret in every credential of that token, in one write. */
  async replaceSecret(serverUrl: string, username: string, token: TokenRef, secret: string): Promise<StoredGitCredential[]> {
    const all = await this.all();
    const updated: StoredGitCredential[] = [];
    const next = all.map((entry) => {
      if (!usesToken(entry, serverUrl, username, token)) return entry;
      const replaced = { ...entry, token: secret, tokenId: token.id };
      updated.push(replaced);
      return replaced;
    });
    if (updated.length > 0) await this.save(next);
    return updated;
  }

  /** Removes these entries (by host and path) in one write; resolves to how many went. */
  async removeAll(entries: ReadonlyArray<Pick<StoredCredentialKey, "host" | "path">>): Promise<number> {
    const ids = new Set(entries.map(credentialId));
    const all = await this.all();
    const kept = all.filter((stored) => !ids.has(credentialId(stored)));
    if (kept.length !== all.length) await this.save(kept);
    return all.length - kept.length;
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

function usesToken(entry: StoredGitCredential, serverUrl: string, username: string, token: TokenRef): boolean {
  if (entry.username !== username || !isUnderServer(entry, serverUrl)) return false;
  return entry.tokenId !== undefined ? entry.tokenId === token.id : secretHint(entry.token) === token.hint;
}
