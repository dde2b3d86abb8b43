/**
 * Configure Git Remote: workspace repository (vscode.git API) → remote → server repository
 * (pre-selected from the current remote) → token → how git gets it. The remote gets the clean
 * `<server>/git/<project>/<repo>.git`; the token goes to SecretStorage, served by the credentials
 * provider, unless the user explicitly chooses (after a warning) to embed it in the URL.
 */
import path from "node:path";
import { secretHint } from "@clarive/shared";
import { describeError } from "../api/errors";
import { gitRemoteUrl, gitRemoteUrlWithToken, hasEmbeddedClariveToken, repositoryFromRemoteUrl, withoutCredentials } from "../core/urls";
import { personalAccessTokenProblem } from "../core/validation";
import { sslCaInfoKey } from "../core/certificates";
import { credentialKeyOf } from "../core/credentialMatching";
import type { Repository } from "../git/gitApi";
import { requireSignedIn, type CommandDeps } from "./deps";
import { createTokenWithForm } from "./tokenCreation";

const TITLE = "Configure Git Remote";

export interface ConfigureRemoteOptions {
  /** A secret just created ("Use for this workspace's git remote"), with its token's id. */
  token?: ChosenToken;
  /** "project/name" to put first in the server repository pick. */
  repository?: string;
}

export interface ConfiguredRemote {
  folder: string;
  remote: string;
  url: string;
  repository: string;
  embedded: boolean;
  /** The CA file git in this repository now trusts for the server (`http.<server>/.sslCAInfo`), if any. */
  caFile?: string;
}

async function pickWorkspaceRepository(deps: CommandDeps): Promise<Repository | undefined> {
  const ui = deps.ui();
  const git = await deps.gitApi();
  if (!git) {
    await ui.message("error", "The built-in Git extension is disabled or not available: enable it to configure a remote.", {});
    return undefined;
  }
  const repositories = git.repositories;
  if (repositories.length === 0) {
    await ui.message(
      "warning",
      "No git repository is open in this workspace. Open a folder with a repository (or run git init) first.",
      {},
    );
    return undefined;
  }
  if (repositories.length === 1) return repositories[0];
  const picked = await ui.pickOne(
    repositories.map((repository) => ({
      label: path.basename(repository.rootUri.fsPath),
      description: repository.rootUri.fsPath,
      repository,
    })),
    { title: TITLE, placeHolder: "Which workspace repository?" },
  );
  return picked?.repository;
}

async function pickRemoteName(deps: CommandDeps, repository: Repository, serverUrl: string): Promise<string | undefined> {
  const remotes = repository.state.remotes;
  if (remotes.length === 0) return "origin";
  const onServer = (url: string | undefined) => url !== undefined && repositoryFromRemoteUrl(url, serverUrl) !== undefined;
  const items = [...remotes]
    .sort((a, b) => Number(onServer(b.fetchUrl)) - Number(onServer(a.fetchUrl)))
    .map((remote) => ({ label: remote.name, description: remote.fetchUrl ? withoutCredentials(remote.fetchUrl) : "", name: remote.name }));
  const fresh = remotes.some((remote) => remote.name === "clarive")
    ? []
    : [{ label: "clarive", description: "add a new remote", name: "clarive" }];
  const picked = await deps
    .ui()
    .pickOne([...items, ...fresh], { title: TITLE, placeHolder: "Which remote should point at the Clarive server?" });
  return picked?.name;
}

type TokenSource = "stored" | "create" | "paste";

/** The secret git will use, and the server's id of its token when known (rotation finds it by that). */
export interface ChosenToken {
  secret: string;
  tokenId?: number;
}

async function obtainToken(deps: CommandDeps, fullName: string, cleanUrl: string): Promise<ChosenToken | undefined> {
  const ui = deps.ui();
  const stored = await deps.credentials.forRemoteUrl(cleanUrl);
  const items: Array<{ label: string; detail: string; source: TokenSource }> = [
    ...(stored
      ? [{ label: "Keep the stored token", detail: `already in VS Code's secret storage for ${fullName}`, source: "stored" as const }]
      : []),
    { label: `Create a new token for ${fullName}`, detail: "read & write, this repository only", source: "create" },
    { label: "Paste an existing token", detail: "clapat_…", source: "paste" },
  ];
  const picked = await ui.pickOne(items, { title: TITLE, placeHolder: "Which personal access token should git use?" });
  if (!picked) return undefined;
  if (picked.source === "stored")
    return stored && { secret: stored.token, ...(stored.tokenId !== undefined && { tokenId: stored.tokenId }) };
  if (picked.source === "paste") {
    const pasted = await ui.input({ title: TITLE, prompt: "Personal access token", password: true, validate: personalAccessTokenProblem });
    if (pasted === undefined) return undefined;
    const secret = pasted.trim();
    // One of the user's own tokens, by its hint; another user's pasted token has no id here.
    const own = deps.cachedTokens().find((token) => token.hint === secretHint(secret));
    return { secret, ...(own && { tokenId: own.id }) };
  }
  const created = await createTokenWithForm(deps, {
    description: `${fullName} from VS Code`,
    repositories: [fullName],
    permission: "read-write",
  });
  return created && { secret: created.secret, tokenId: created.token.id };
}

const PROVIDER = "provider";
const EMBED = "embed";
export const EMBED_CONFIRM = "Embed Token";

async function chooseEmbedding(deps: CommandDeps): Promise<boolean | undefined> {
  const ui = deps.ui();
  const useProvider = deps.settings.useGitCredentialsProvider();
  const choices = [
    ...(useProvider
      ? [
          {
            label: "VS Code secret storage (recommended)",
            detail: "VS Code answers git's password prompts, in the editor and its terminal",
            how: PROVIDER,
          },
        ]
      : []),
    {
      label: "Embed the token in the remote URL",
      detail: "plain text in .git/config, readable by anything that reads the folder",
      how: EMBED,
    },
  ];
  const picked = await ui.pickOne(choices, { title: TITLE, placeHolder: "Where should git find the token?" });
  if (!picked) return undefined;
  if (picked.how === PROVIDER) return false;
  const confirmed = await ui.message(
    "warning",
    "Embed the token in the remote URL?",
    {
      modal: true,
      detail:
        "The token will be saved in plain text in .git/config, shown by `git remote -v` and copied along with the folder. Anyone who reads it can use git as you until the token expires.",
    },
    EMBED_CONFIRM,
  );
  return confirmed === EMBED_CONFIRM ? true : undefined;
}

async function pointRemoteAt(deps: CommandDeps, repository: Repository, remote: string, url: string): Promise<void> {
  if (repository.state.remotes.some((existing) => existing.name === remote)) {
    // Not repository.setConfig: it appends (--add), and a remote with two URLs pushes to both.
    await deps.gitConfig(repository.rootUri.fsPath).set(`remote.${remote}.url`, url);
  } else {
    await repository.addRemote(remote, url);
  }
  await repository.status();
}

/**
 * For an https server and a CA file chosen in `clarive.caCertificate`: makes git in this repository
 * (the integrated terminal's included) trust it, with `http.<server>/.sslCAInfo` in the repository's
 * own config (never the global one), set exactly once. Without a CA file, removes the key if this
 * extension wrote it before and it is unchanged. Returns the CA file set.
 */
async function applyCaTrust(deps: CommandDeps, folder: string, serverUrl: string): Promise<string | undefined> {
  if (!serverUrl.startsWith("https:")) return undefined;
  const key = sslCaInfoKey(serverUrl);
  const config = deps.gitConfig(folder);
  const caFile = deps.caFile();
  if (caFile) {
    await config.set(key, caFile);
    await deps.caTrust.add({ folder, serverUrl, key, value: caFile });
    return caFile;
  }
  const earlier = deps.caTrust.find(folder, key);
  if (earlier) {
    const values = await config.getAll(key);
    if (values.length === 1 && values[0] === earlier.value) await config.unset(key);
    await deps.caTrust.remove(folder, key);
  }
  return undefined;
}

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

export async function configureGitRemote(deps: CommandDeps, options: ConfigureRemoteOptions = {}): Promise<ConfiguredRemote | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const ui = deps.ui();
  try {
    const repository = await pickWorkspaceRepository(deps);
    if (!repository) return undefined;
    const remote = await pickRemoteName(deps, repository, signedIn.serverUrl);
    if (!remote) return undefined;

    const currentUrl = repository.state.remotes.find((existing) => existing.name === remote)?.fetchUrl;
    const current = currentUrl ? repositoryFromRemoteUrl(currentUrl, signedIn.serverUrl) : undefined;
    const preferred = options.repository ?? current;
    const serverRepositories = await signedIn.client.repositories();
    if (serverRepositories.length === 0) {
      await ui.message("warning", "You cannot reach any repository on this server yet. Ask an administrator for access.", {});
      return undefined;
    }
    const items = [...serverRepositories]
      .sort((a, b) => Number(b.fullName === preferred) - Number(a.fullName === preferred) || a.fullName.localeCompare(b.fullName))
      .map((entry) => ({
        label: entry.fullName,
        description: entry.fullName === current ? "current remote" : entry.effectivePatAccess ? "" : "PAT auth off",
        fullName: entry.fullName,
      }));
    const target = await ui.pickOne(items, { title: TITLE, placeHolder: `Which Clarive repository should "${remote}" point at?` });
    if (!target) return undefined;
    const cleanUrl = gitRemoteUrl(signedIn.serverUrl, target.fullName);

    const chosen = options.token ?? (await obtainToken(deps, target.fullName, cleanUrl));
    if (!chosen) return undefined;
    const token = chosen.secret;
    const embed = await chooseEmbedding(deps);
    if (embed === undefined) return undefined;

    const username = signedIn.user.username;
    const folder = repository.rootUri.fsPath;
    if (embed) {
      await pointRemoteAt(deps, repository, remote, gitRemoteUrlWithToken(signedIn.serverUrl, target.fullName, username, token));
      // A token in the URL wins over the provider; drop a stored one so there is one source of truth.
      await deps.credentials.remove(credentialKeyOf(cleanUrl, username));
    } else {
      await deps.credentials.set(cleanUrl, username, token, target.fullName, chosen.tokenId);
      // git then names the repository path in its prompts, so each repository gets its own token.
      await deps.gitConfig(folder).set(`credential.${signedIn.serverUrl}.useHttpPath`, "true");
      await pointRemoteAt(deps, repository, remote, cleanUrl);
    }
    const caFile = await applyCaTrust(deps, folder, signedIn.serverUrl);
    deps.log(
      `remote ${remote} of ${folder} -> ${cleanUrl}${embed ? " (token embedded at the user's request)" : ""}${caFile ? `; git trusts the CA in ${caFile}` : ""}`,
    );
    const terminalNote =
      embed || deps.terminalAuthenticationEnabled()
        ? "git push works from the integrated terminal too."
        : 'Turn on the "git.terminalAuthentication" setting for git in the integrated terminal to use it.';
    const trustNote = caFile ? ` git in this repository trusts the CA in ${caFile} for the server (http.sslCAInfo).` : "";
    void ui.message("info", `Remote "${remote}" now points at ${cleanUrl}. ${terminalNote}${trustNote}`, {});
    return { folder, remote, url: cleanUrl, repository: target.fullName, embedded: embed, ...(caFile && { caFile }) };
  } catch (error) {
    await ui.message("error", `Could not configure the git remote: ${describeError(error)}`, {});
    return undefined;
  }
}

export async function removeGitCredentials(deps: CommandDeps): Promise<number> {
  const ui = deps.ui();
  const stored = await deps.credentials.all();
  const git = await deps.gitApi();
  const embedded = (git?.repositories ?? []).flatMap((repository) =>
    repository.state.remotes
      .filter((remote) => remote.fetchUrl !== undefined && hasEmbeddedClariveToken(remote.fetchUrl))
      .map((remote) => ({ repository, remote: remote.name, url: remote.fetchUrl ?? "" })),
  );
  const items = [
    ...stored.map((entry) => ({
      label: entry.repository,
      description: `${entry.username}@${entry.host}`,
      detail: "token in VS Code's secret storage",
      picked: true,
      remove: async () => void (await deps.credentials.remove(entry)),
    })),
    ...embedded.map((entry) => ({
      label: `${path.basename(entry.repository.rootUri.fsPath)}: ${entry.remote}`,
      description: withoutCredentials(entry.url),
      detail: "token embedded in .git/config",
      picked: true,
      remove: async () => pointRemoteAt(deps, entry.repository, entry.remote, withoutCredentials(entry.url)),
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
    `Removed ${picked.length} git credential${picked.length === 1 ? "" : "s"}. git will ask for a password again.`,
    {},
  );
  return picked.length;
}
