/** The pick steps of Configure Git Remote: which workspace repository, which remote, where git finds the token. */
import path from "node:path";
import { repositoryFromRemoteUrl, withoutCredentials } from "../core/urls";
import type { Repository } from "../git/gitApi";
import type { CommandDeps } from "./deps";

export const TITLE = "Configure Git Remote";
export const EMBED_CONFIRM = "Embed Token";

export async function pickWorkspaceRepository(deps: CommandDeps): Promise<Repository | undefined> {
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
    { title: `${TITLE}: repository`, placeHolder: "Which workspace repository?" },
  );
  return picked?.repository;
}

export async function pickRemoteName(deps: CommandDeps, repository: Repository, serverUrl: string): Promise<string | undefined> {
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
    .pickOne([...items, ...fresh], { title: `${TITLE}: remote`, placeHolder: "Which remote should point at the Clarive server?" });
  return picked?.name;
}

/** false: secret storage; true: in the URL (after a warning); undefined: cancelled. */
export async function chooseEmbedding(deps: CommandDeps): Promise<boolean | undefined> {
  const ui = deps.ui();
  const choices = [
    ...(deps.settings.useGitCredentialsProvider()
      ? [
          {
            label: "VS Code secret storage (recommended)",
            detail: "VS Code answers git's password prompts, in the editor and its terminal",
            embed: false,
          },
        ]
      : []),
    {
      label: "Embed the token in the remote URL",
      detail: "plain text in .git/config, readable by anything that reads the folder",
      embed: true,
    },
  ];
  const picked = await ui.pickOne(choices, {
    title: `${TITLE}: where git finds the token`,
    placeHolder: "Where should git find the token?",
  });
  if (!picked) return undefined;
  if (!picked.embed) return false;
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
