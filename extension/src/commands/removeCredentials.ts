/**
 * Remove Git Credentials: the tokens in VS Code's secret storage, the tokens embedded in the URLs of
 * the workspace's remotes (every URL and push URL, as git reads them), and the CA trust this
 * extension wrote. What it reports removed is checked gone.
 */
import path from "node:path";
import { secretHint } from "@clarive/shared";
import { embeddedTokenOf, withoutCredentials } from "../core/urls";
import { embeddedTokens, readRemote, rewriteRemoteUrls } from "../git/remotes";
import type { CommandDeps } from "./deps";
import { embeddedRemotes } from "./tokenCredentials";

/** The sslCAInfo keys this extension wrote that still hold what it wrote (others are forgotten). */
async function writtenCaTrust(deps: CommandDeps) {
  const kept = [];
  for (const record of deps.caTrust.all()) {
    const values = await deps
      .gitConfig(record.folder)
      .getAll(record.key)
      .catch(() => [] as string[]);
    if (values.length === 1 && values[0] === record.value) kept.push(record);
    else await deps.caTrust.remove(record.folder, record.key);
  }
  return kept;
}

/** How the credential's token stands on the server, when signed in there: "token removed" or "". */
function tokenNote(deps: CommandDeps, secret: string, serverHost: string | undefined, host: string): string {
  if (!serverHost || serverHost !== host) return "";
  const token = deps.cachedTokens().find((candidate) => candidate.hint === secretHint(secret));
  return token ? (token.active ? "" : " · token inactive") : " · its token no longer exists";
}

export async function removeGitCredentials(deps: CommandDeps): Promise<number> {
  const ui = deps.ui();
  const stored = await deps.credentials.all();
  const signedInHost = deps.session.signedIn ? new URL(deps.session.signedIn.serverUrl).host : undefined;
  const items = [
    ...stored.map((entry) => ({
      label: entry.repository,
      description: `${entry.username}@${entry.host}${tokenNote(deps, entry.token, signedInHost, entry.host)}`,
      detail: "token in VS Code's secret storage",
      picked: true,
      remove: async () => void (await deps.credentials.remove(entry)),
    })),
    ...(await embeddedRemotes(deps)).map((entry) => ({
      label: entry.label,
      description: [...new Set([...entry.remote.urls, ...entry.remote.pushUrls].map((url) => withoutCredentials(url)))].join(", "),
      detail: `token ${embeddedTokens(entry.remote).map(secretHint).join(", ")} embedded in .git/config`,
      picked: true,
      remove: async () => {
        const config = deps.gitConfig(entry.folder);
        await rewriteRemoteUrls(config, entry.remote, (url) => (embeddedTokenOf(url) ? withoutCredentials(url) : url));
        // Said removed only once git itself no longer reads a token there.
        if (embeddedTokens(await readRemote(config, entry.remote.name)).length > 0)
          throw new Error(`the token is still in the URL of ${entry.label}`);
        await entry.repository.status();
      },
    })),
    ...(await writtenCaTrust(deps)).map((record) => ({
      label: `${path.basename(record.folder)}: trust of ${path.basename(record.value)}`,
      description: record.serverUrl,
      detail: `CA file for git (http.sslCAInfo) in ${path.join(record.folder, ".git", "config")}`,
      picked: true,
      remove: async () => {
        await deps.gitConfig(record.folder).unset(record.key);
        await deps.caTrust.remove(record.folder, record.key);
      },
    })),
  ];
  if (items.length === 0) {
    await ui.message("info", "No Clarive git credentials are stored.", {});
    return 0;
  }
  const picked = await ui.pickMany(items, { title: "Remove Git Credentials", placeHolder: "Which credentials should be forgotten?" });
  if (!picked || picked.length === 0) return 0;
  for (const item of picked) await item.remove();
  deps.log(`removed ${picked.length} git credential(s)`);
  void ui.message(
    "info",
    `Removed ${picked.length} git credential${picked.length === 1 ? "" : "s"}: ${picked.map((item) => item.label).join(", ")}. git will ask for a password again.`,
    {},
  );
  return picked.length;
}
