/**
 * Which stored git credential answers a prompt. VS Code's git extension calls the credentials
 * provider with the URL git prompts for: `scheme://[user@]host[:port]` and, when
 * `credential.useHttpPath` is on (Configure Git Remote turns it on for the repository), the
 * repository path too. Credentials are stored per host + repository path, so two repositories on
 * one server can use two different repo-scoped tokens.
 */
import { canonicalHost } from "./urls";

export interface StoredCredentialKey {
  /** Canonical host, e.g. "git.example.com" or "127.0.0.1:8080". */
  host: string;
  /** Repository path without `.git` or trailing slash, e.g. "/git/acme/widgets". */
  path: string;
  username: string;
}

export function normalizeRepositoryPath(path: string): string {
  const trimmed = path.replace(/\/+$/, "").replace(/\.git$/, "");
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** The storage key of a remote URL's credential (no user, no secret in it). */
export function credentialKeyOf(remoteUrl: string, username: string): StoredCredentialKey {
  const url = new URL(remoteUrl);
  return { host: canonicalHost(url), path: normalizeRepositoryPath(url.pathname), username };
}

export const credentialId = (key: Pick<StoredCredentialKey, "host" | "path">): string => `${key.host}${key.path}`;

/**
 * The stored credential for a prompt URL, or undefined when none applies (the next provider, or
 * git's own prompt, answers then). With a path, only that repository's credential matches. Without
 * one (git's default, useHttpPath off), a host match is accepted only when it is unambiguous: one
 * credential for the host, or one for the user named in the prompt.
 */
export function matchCredential<T extends StoredCredentialKey>(promptUrl: string, stored: readonly T[]): T | undefined {
  let url: URL;
  try {
    url = new URL(promptUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  const host = canonicalHost(url);
  const user = decodeURIComponent(url.username);
  const candidates = stored.filter((entry) => entry.host === host && (user === "" || entry.username === user));
  const path = url.pathname.replace(/\/+$/, "");
  if (path !== "") {
    const wanted = normalizeRepositoryPath(path);
    return candidates.find((entry) => entry.path === wanted);
  }
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** True when a stored credential is for a repository of this server (same host, under its `/git/`). */
export function isUnderServer(entry: Pick<StoredCredentialKey, "host" | "path">, serverUrl: string): boolean {
  let server: URL;
  try {
    server = new URL(serverUrl);
  } catch {
    return false;
  }
  return entry.host === canonicalHost(server) && entry.path.startsWith(`${server.pathname.replace(/\/+$/, "")}/git/`);
}
