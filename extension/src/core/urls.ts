/**
 * Server and git remote URLs. The service serves git at `<server>/git/<project>/<repo>.git`;
 * the extension writes that clean URL to the remote and recognises it again (with or without
 * `.git`, credentials or a trailing slash) to pre-select the repository.
 */

export type ParsedServerUrl = { ok: true; url: string } | { ok: false; message: string };

/** Normalises a server URL: http(s) only, no credentials, query or fragment, no trailing slash. */
export function parseServerUrl(value: string): ParsedServerUrl {
  const trimmed = value.trim();
  if (trimmed.length === 0) return { ok: false, message: "Enter the server URL, e.g. https://git.example.com" };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, message: `"${trimmed}" is not a URL; enter e.g. https://git.example.com` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, message: "The server URL must start with http:// or https://" };
  }
  if (url.username || url.password) return { ok: false, message: "Leave credentials out of the server URL; you sign in next." };
  if (url.search || url.hash) return { ok: false, message: "The server URL takes no query (?…) or fragment (#…)." };
  const path = url.pathname.replace(/\/+$/, "");
  return { ok: true, url: `${url.protocol}//${url.host}${path}` };
}

/** `<server>/git/<project>/<repo>.git`: the remote URL the extension writes (never with a token). */
export function gitRemoteUrl(serverUrl: string, fullName: string): string {
  const [project, name] = splitFullName(fullName);
  return `${serverUrl.replace(/\/+$/, "")}/git/${encodeURIComponent(project)}/${encodeURIComponent(name)}.git`;
}

/** The same URL with user and token in it: only when the user explicitly asks for it. */
export function gitRemoteUrlWithToken(serverUrl: string, fullName: string, username: string, token: string): string {
  const url = new URL(gitRemoteUrl(serverUrl, fullName));
  url.username = encodeURIComponent(username);
  url.password = encodeURIComponent(token);
  return url.toString();
}

export function splitFullName(fullName: string): [string, string] {
  const slash = fullName.indexOf("/");
  if (slash <= 0 || slash === fullName.length - 1) throw new Error(`"${fullName}" is not "project/name"`);
  return [fullName.slice(0, slash), fullName.slice(slash + 1)];
}

function defaultPort(protocol: string): string {
  return protocol === "https:" ? "443" : protocol === "http:" ? "80" : "";
}

/** host[:port] in lower case, without the default port, so "HOST:80" and "host" compare equal. */
export function canonicalHost(url: URL): string {
  const port = url.port && url.port !== defaultPort(url.protocol) ? `:${url.port}` : "";
  return `${url.hostname.toLowerCase()}${port}`;
}

/**
 * The "project/name" a remote URL points at on this server, or undefined when it points elsewhere.
 * Accepts the URL with credentials, with or without `.git`, and with a trailing slash.
 */
export function repositoryFromRemoteUrl(remoteUrl: string, serverUrl: string): string | undefined {
  let remote: URL;
  let server: URL;
  try {
    remote = new URL(remoteUrl);
    server = new URL(serverUrl);
  } catch {
    return undefined;
  }
  if (remote.protocol !== server.protocol || canonicalHost(remote) !== canonicalHost(server)) return undefined;
  const base = `${server.pathname.replace(/\/+$/, "")}/git/`;
  if (!remote.pathname.startsWith(base)) return undefined;
  const rest = remote.pathname
    .slice(base.length)
    .replace(/\/+$/, "")
    .replace(/\.git$/, "");
  const segments = rest.split("/");
  if (segments.length !== 2 || !segments[0] || !segments[1]) return undefined;
  return segments.map((segment) => decodeURIComponent(segment)).join("/");
}

/** The Clarive token a remote URL carries as its password (embedded in `.git/config`), if any. */
export function embeddedTokenOf(remoteUrl: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(remoteUrl).password);
    return password.startsWith("clapat_") ? password : undefined;
  } catch {
    return undefined;
  }
}

/** True when a remote URL carries a Clarive token as its password (embedded in `.git/config`). */
export const hasEmbeddedClariveToken = (remoteUrl: string): boolean => embeddedTokenOf(remoteUrl) !== undefined;

/** The same URL with another token as its password (a rotated token in an embedded remote). */
export function withEmbeddedToken(remoteUrl: string, token: string): string {
  const url = new URL(remoteUrl);
  url.password = encodeURIComponent(token);
  return url.toString();
}

/** The URL without user or password: what "Remove Git Credentials" writes back. */
export function withoutCredentials(remoteUrl: string): string {
  const url = new URL(remoteUrl);
  url.username = "";
  url.password = "";
  return url.toString();
}
