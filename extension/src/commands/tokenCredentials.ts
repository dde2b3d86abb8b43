/**
 * Where a token is used by git on this machine: credentials in VS Code's secret storage (by token
 * id, or hint for older entries) and tokens embedded in the URLs of the workspace's remotes. So
 * rotating a token can update them all in one step, and removing one can clean up behind it.
 */
import path from "node:path";
import { secretHint } from "@clarive/shared";
import { embeddedTokenOf, withEmbeddedToken, withoutCredentials } from "../core/urls";
import type { StoredGitCredential, TokenRef } from "../git/credentialStore";
import type { Repository } from "../git/gitApi";
import { embeddedTokens, readRemote, rewriteRemoteUrls, type RemoteUrls } from "../git/remotes";
import type { SignedIn } from "../session";
import type { CommandDeps } from "./deps";

export interface EmbeddedRemote {
  repository: Repository;
  folder: string;
  remote: RemoteUrls;
  /** "widgets: origin", for messages and picks. */
  label: string;
}

export interface TokenUses {
  stored: StoredGitCredential[];
  embedded: EmbeddedRemote[];
}

/** Every remote of every workspace repository whose URLs carry a Clarive token. */
export async function embeddedRemotes(deps: CommandDeps): Promise<EmbeddedRemote[]> {
  const git = await deps.gitApi();
  const found: EmbeddedRemote[] = [];
  for (const repository of git?.repositories ?? []) {
    const folder = repository.rootUri.fsPath;
    for (const { name } of repository.state.remotes) {
      const remote = await readRemote(deps.gitConfig(folder), name).catch(() => undefined);
      if (remote && embeddedTokens(remote).length > 0)
        found.push({ repository, folder, remote, label: `${path.basename(folder)}: ${name}` });
    }
  }
  return found;
}

export async function tokenUses(deps: CommandDeps, signedIn: SignedIn, token: TokenRef): Promise<TokenUses> {
  const stored = await deps.credentials.forToken(signedIn.serverUrl, signedIn.user.username, token);
  const embedded = (await embeddedRemotes(deps)).filter((entry) =>
    embeddedTokens(entry.remote).some((secret) => secretHint(secret) === token.hint),
  );
  return { stored, embedded };
}

/** "acme/widgets (secret storage) and widgets: origin (.git/config)", or "" when nothing uses it. */
export function describeUses(uses: TokenUses): string {
  const parts = [
    ...uses.stored.map((entry) => `${entry.repository} (secret storage)`),
    ...uses.embedded.map((entry) => `${entry.label} (.git/config)`),
  ];
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

export const usesCount = (uses: TokenUses) => uses.stored.length + uses.embedded.length;

/** Swaps the old secret for the new one everywhere it is used; resolves to what was updated. */
export async function replaceTokenEverywhere(
  deps: CommandDeps,
  signedIn: SignedIn,
  token: TokenRef,
  uses: TokenUses,
  secret: string,
): Promise<TokenUses> {
  const stored = await deps.credentials.replaceSecret(signedIn.serverUrl, signedIn.user.username, token, secret);
  for (const entry of uses.embedded) {
    await rewriteRemoteUrls(deps.gitConfig(entry.folder), entry.remote, (url) => {
      const embedded = embeddedTokenOf(url);
      return embedded && secretHint(embedded) === token.hint ? withEmbeddedToken(url, secret) : url;
    });
    await entry.repository.status();
  }
  return { stored, embedded: uses.embedded };
}

/** Forgets a token that no longer exists: stored credentials removed, embedded copies stripped from the URLs. */
export async function forgetTokenEverywhere(deps: CommandDeps, token: TokenRef, uses: TokenUses): Promise<void> {
  await deps.credentials.removeAll(uses.stored);
  for (const entry of uses.embedded) {
    await rewriteRemoteUrls(deps.gitConfig(entry.folder), entry.remote, (url) => {
      const embedded = embeddedTokenOf(url);
      return embedded && secretHint(embedded) === token.hint ? withoutCredentials(url) : url;
    });
    await entry.repository.status();
  }
}
