/**
 * Configure Git Remote: workspace repository (vscode.git API) → remote → server repository
 * (pre-selected from the current remote) → token → how git gets it. The remote gets the clean
 * `<server>/git/<project>/<repo>.git` as its only URL (duplicates and push URLs removed, checked with
 * `git config --get-all` afterwards); the token goes to SecretStorage, served by the credentials
 * provider, unless the user explicitly chooses (after a warning) to embed it in the URL. A token
 * already in the remote's URL is offered first, to be moved out of `.git/config`.
 */
import { secretHint, type TokenDto } from "@clarive/shared";
import { describeError } from "../api/errors";
import { sslCaInfoKey } from "../core/certificates";
import { credentialKeyOf } from "../core/credentialMatching";
import { gitRemoteUrl, gitRemoteUrlWithToken, repositoryFromRemoteUrl } from "../core/urls";
import { personalAccessTokenProblem } from "../core/validation";
import type { StoredGitCredential } from "../git/credentialStore";
import type { Repository } from "../git/gitApi";
import { embeddedTokens, readRemote, setRemoteUrl, type RemoteUrls } from "../git/remotes";
import { requireSignedIn, type CommandDeps } from "./deps";
import { chooseEmbedding, pickRemoteName, pickWorkspaceRepository, TITLE } from "./remotePicks";
import { forgetRecent, recentlyCreated } from "./recentToken";
import { createTokenWithForm } from "./tokenCreation";

export { EMBED_CONFIRM } from "./remotePicks";
export { removeGitCredentials } from "./removeCredentials";

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

/** The secret git will use, and the server's id of its token when known (rotation finds it by that). */
export interface ChosenToken {
  secret: string;
  tokenId?: number;
}

const usable = (token: TokenDto | undefined): token is TokenDto => token !== undefined && token.active && !token.expired;

/** The user's token behind a secret (by id when known, else by hint), if it still exists. */
function tokenOf(tokens: readonly TokenDto[], secret: string, tokenId?: number): TokenDto | undefined {
  return tokenId !== undefined ? tokens.find((token) => token.id === tokenId) : tokens.find((token) => token.hint === secretHint(secret));
}

type TokenSource = "url" | "recent" | "stored" | "create" | "paste";

async function obtainToken(deps: CommandDeps, fullName: string, cleanUrl: string, current: RemoteUrls): Promise<ChosenToken | undefined> {
  const ui = deps.ui();
  const tokens = deps.cachedTokens();
  // Only tokens that still work are offered as they are: a stored or embedded secret of a removed,
  // deactivated or expired token would only make git fail.
  const stored: StoredGitCredential | undefined = await deps.credentials.forRemoteUrl(cleanUrl);
  const storedToken = stored && tokenOf(tokens, stored.token, stored.tokenId);
  const inUrl = embeddedTokens(current)
    .map((secret) => ({ secret, token: tokenOf(tokens, secret) }))
    .find((entry) => usable(entry.token));
  const recentEntry = recentlyCreated(deps.session.activeAccountId, deps.now());
  const recent = recentEntry && { ...recentEntry, token: tokens.find((token) => token.id === recentEntry.tokenId) };
  const items: Array<{ label: string; detail: string; source: TokenSource }> = [
    ...(recent && usable(recent.token)
      ? [
          {
            label: `Use the token just created: "${recent.token.description}"`,
            detail: `${recent.token.hint}, ${recent.token.allRepositories ? "all repositories" : recent.token.repositories.join(", ")}`,
            source: "recent" as const,
          },
        ]
      : []),
    ...(inUrl
      ? [
          {
            label: `Move the token in the remote's URL to secret storage`,
            detail: `${inUrl.token?.hint} ("${inUrl.token?.description}"), out of .git/config`,
            source: "url" as const,
          },
        ]
      : []),
    ...(stored && usable(storedToken)
      ? [
          {
            label: "Keep the stored token",
            detail: `${storedToken.hint} ("${storedToken.description}"), already in VS Code's secret storage`,
            source: "stored" as const,
          },
        ]
      : []),
    { label: `Create a new token for ${fullName}`, detail: "read & write, this repository only", source: "create" },
    { label: "Paste an existing token", detail: "clapat_…", source: "paste" },
  ];
  const picked = await ui.pickOne(items, { title: `${TITLE}: token`, placeHolder: "Which personal access token should git use?" });
  if (!picked) return undefined;
  if (picked.source === "recent") return recent && { secret: recent.secret, tokenId: recent.tokenId };
  if (picked.source === "url") return inUrl && { secret: inUrl.secret, ...(inUrl.token && { tokenId: inUrl.token.id }) };
  if (picked.source === "stored") return stored && storedToken && { secret: stored.token, tokenId: storedToken.id };
  if (picked.source === "paste") {
    const pasted = await ui.input({
      title: `${TITLE}: token`,
      prompt: "Personal access token (clapat_…)",
      password: true,
      validate: personalAccessTokenProblem,
    });
    if (pasted === undefined) return undefined;
    const secret = pasted.trim();
    // One of the user's own tokens, by its hint; another user's pasted token has no id here.
    const own = tokenOf(tokens, secret);
    return { secret, ...(own && { tokenId: own.id }) };
  }
  const created = await createTokenWithForm(deps, {
    description: `${fullName} from VS Code`,
    repositories: [fullName],
    permission: "read-write",
  });
  return created && { secret: created.secret, tokenId: created.token.id };
}

/**
 * Makes `url` the remote's one URL and checks it with `git config --get-all`, so the message never
 * claims what git does not read. Resolves to what was there before.
 */
async function pointRemoteAt(deps: CommandDeps, repository: Repository, remote: string, url: string): Promise<RemoteUrls> {
  const config = deps.gitConfig(repository.rootUri.fsPath);
  const before = await readRemote(config, remote);
  // Not repository.setConfig: it appends (--add), and a remote with two URLs pushes to both.
  if (before.urls.length > 0) await setRemoteUrl(config, remote, url);
  else await repository.addRemote(remote, url);
  const after = await readRemote(config, remote);
  if (after.urls.length !== 1 || after.urls[0] !== url || after.pushUrls.length > 0) {
    throw new Error(`git still lists ${after.urls.length} URL(s) and ${after.pushUrls.length} push URL(s) for "${remote}"`);
  }
  await repository.status();
  return before;
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

/** What changed besides the URL, in words: duplicates, push URLs and tokens that left `.git/config`. */
function cleanupNote(before: RemoteUrls, embed: boolean): string {
  const notes: string[] = [];
  if (before.urls.length > 1) notes.push(`its ${before.urls.length} URLs are now one`);
  if (before.pushUrls.length > 0) notes.push(`its push URL${before.pushUrls.length === 1 ? " was" : "s were"} removed`);
  const tokens = embeddedTokens(before);
  if (tokens.length > 0 && !embed)
    notes.push(`the token ${tokens.map(secretHint).join(", ")} that was in its URL is no longer in .git/config`);
  return notes.length > 0 ? ` (${notes.join("; ")})` : "";
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
    const folder = repository.rootUri.fsPath;
    const current = await readRemote(deps.gitConfig(folder), remote);

    const currentUrl = current.urls[0];
    const currentRepository = currentUrl ? repositoryFromRemoteUrl(currentUrl, signedIn.serverUrl) : undefined;
    const preferred = options.repository ?? currentRepository;
    const serverRepositories = await signedIn.client.repositories();
    if (serverRepositories.length === 0) {
      await ui.message("warning", "You cannot reach any repository on this server yet. Ask an administrator for access.", {});
      return undefined;
    }
    const items = [...serverRepositories]
      .sort((a, b) => Number(b.fullName === preferred) - Number(a.fullName === preferred) || a.fullName.localeCompare(b.fullName))
      .map((entry) => ({
        label: entry.fullName,
        description: entry.fullName === currentRepository ? "current remote" : entry.effectivePatAccess ? "" : "PAT auth off",
        fullName: entry.fullName,
      }));
    const target = await ui.pickOne(items, {
      title: `${TITLE}: Clarive repository`,
      placeHolder: `Which Clarive repository should "${remote}" point at?`,
    });
    if (!target) return undefined;
    const cleanUrl = gitRemoteUrl(signedIn.serverUrl, target.fullName);

    await deps.refreshTokens(); // so only tokens that still exist are offered
    const chosen = options.token ?? (await obtainToken(deps, target.fullName, cleanUrl, current));
    if (!chosen) return undefined;
    const embed = await chooseEmbedding(deps);
    if (embed === undefined) return undefined;

    const username = signedIn.user.username;
    let before: RemoteUrls;
    if (embed) {
      before = await pointRemoteAt(
        deps,
        repository,
        remote,
        gitRemoteUrlWithToken(signedIn.serverUrl, target.fullName, username, chosen.secret),
      );
      // A token in the URL wins over the provider; drop a stored one so there is one source of truth.
      await deps.credentials.remove(credentialKeyOf(cleanUrl, username));
    } else {
      await deps.credentials.set(cleanUrl, username, chosen.secret, target.fullName, chosen.tokenId);
      // git then names the repository path in its prompts, so each repository gets its own token.
      await deps.gitConfig(folder).set(`credential.${signedIn.serverUrl}.useHttpPath`, "true");
      before = await pointRemoteAt(deps, repository, remote, cleanUrl);
    }
    // In a credential now (or the URL): no need to hold it in memory any longer.
    if (recentlyCreated(deps.session.activeAccountId, deps.now())?.secret === chosen.secret) forgetRecent();
    const caFile = await applyCaTrust(deps, folder, signedIn.serverUrl);
    deps.log(
      `remote ${remote} of ${folder} -> ${cleanUrl}${embed ? " (token embedded at the user's request)" : ""}${caFile ? `; git trusts the CA in ${caFile}` : ""}`,
    );
    const terminalNote =
      embed || deps.terminalAuthenticationEnabled()
        ? "git push works from the integrated terminal too."
        : 'Turn on the "git.terminalAuthentication" setting for git in the integrated terminal to use it.';
    const trustNote = caFile ? ` git in this repository trusts the CA in ${caFile} for the server (http.sslCAInfo).` : "";
    void ui.message("info", `Remote "${remote}" now points at ${cleanUrl}${cleanupNote(before, embed)}. ${terminalNote}${trustNote}`, {});
    return { folder, remote, url: cleanUrl, repository: target.fullName, embedded: embed, ...(caFile && { caFile }) };
  } catch (error) {
    await ui.message("error", `Could not configure the git remote: ${describeError(error)}`, {});
    return undefined;
  }
}
