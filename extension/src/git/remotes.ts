/**
 * A remote's URLs as git itself reads them (`git config --get-all remote.<name>.url` and `.pushurl`),
 * not as the vscode.git API's state shows them (its first URL only), and written exactly: one URL,
 * no push URL left behind pointing somewhere else, no duplicate lines.
 */
import { embeddedTokenOf, withoutCredentials } from "../core/urls";
import type { LocalGitConfig } from "./gitConfig";

export interface RemoteUrls {
  name: string;
  urls: string[];
  pushUrls: string[];
}

export const urlKey = (remote: string) => `remote.${remote}.url`;
export const pushUrlKey = (remote: string) => `remote.${remote}.pushurl`;

export async function readRemote(config: LocalGitConfig, name: string): Promise<RemoteUrls> {
  const [urls, pushUrls] = await Promise.all([config.getAll(urlKey(name)), config.getAll(pushUrlKey(name))]);
  return { name, urls, pushUrls };
}

/** The personal access tokens written in any of a remote's URLs (usually one), in order, deduplicated. */
export function embeddedTokens(remote: RemoteUrls): string[] {
  const found = [...remote.urls, ...remote.pushUrls].map(embeddedTokenOf).filter((token): token is string => token !== undefined);
  return [...new Set(found)];
}

/**
 * Makes `url` the remote's only URL (git config --replace-all drops duplicates) and removes any push
 * URL, so fetch and push both go there. Resolves to what was replaced, for the message.
 */
export async function setRemoteUrl(
  config: LocalGitConfig,
  name: string,
  url: string,
): Promise<{ replaced: number; pushUrlsRemoved: number }> {
  const before = await readRemote(config, name);
  await config.set(urlKey(name), url);
  if (before.pushUrls.length > 0) await config.unset(pushUrlKey(name));
  return { replaced: before.urls.length, pushUrlsRemoved: before.pushUrls.length };
}

/**
 * Rewrites each URL and push URL of the remote through `rewrite` (e.g. strip or swap an embedded
 * token), keeping how many there are; a URL that ends up listed twice is kept once.
 */
export async function rewriteRemoteUrls(config: LocalGitConfig, remote: RemoteUrls, rewrite: (url: string) => string): Promise<void> {
  for (const [key, values] of [
    [urlKey(remote.name), remote.urls],
    [pushUrlKey(remote.name), remote.pushUrls],
  ] as const) {
    if (values.length === 0) continue;
    const next = [...new Set(values.map(rewrite))];
    if (next.length === values.length && next.every((value, index) => value === values[index])) continue;
    await config.set(key, next[0] ?? "");
    for (const extra of next.slice(1)) await config.add(key, extra);
  }
}

/** The remote's URL without any user or token in it: what Remove Git Credentials leaves. */
export const cleanUrl = (url: string): string => (embeddedTokenOf(url) ? withoutCredentials(url) : url);
