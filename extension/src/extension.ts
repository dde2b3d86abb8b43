/**
 * Entry point: builds the session, the Tokens view, the commands and the git credentials
 * provider from the pieces in core/, commands/ and vscode/. Kept to wiring only.
 */
import * as vscode from "vscode";
import type { TokenDto } from "@clarive/shared";
import { configureGitRemote, removeGitCredentials, type ConfigureRemoteOptions } from "./commands/configureRemote";
import { createToken } from "./commands/createToken";
import type { CommandDeps } from "./commands/deps";
import { setRepositoryPatAccess, toggleGlobalPatAuth } from "./commands/admin";
import { editAllowedIps, removeAnyToken, setAnyTokenActive, type AdminTokenTarget } from "./adminTokenCommands";
import { AdminTokensTreeProvider } from "./adminTokensView";
import { signIn, signOut } from "./commands/signIn";
import { rotateToken } from "./commands/rotateToken";
import { signOutAccount, switchAccount } from "./commands/accounts";
import { editToken, removeToken, setTokenActive, type TokenTarget } from "./commands/tokenActions";
import type { TokensState } from "./core/treeModel";
import type { TokenFormPrefill } from "./core/tokenForm";
import { ExpiryNotifier } from "./expiryNotifier";
import { Transport } from "./api/transport";
import { CaTrustRecords } from "./git/caTrust";
import { GitCredentialStore } from "./git/credentialStore";
import { GIT_CREDENTIALS_SECRET_KEY } from "./git/credentialStore";
import { localGitConfig } from "./git/gitConfig";
import { Session } from "./session";
import type { RemoteStatus } from "./core/remoteStatus";
import type { Ui } from "./ui/ui";
import { CredentialsProviderRegistration, gitApi } from "./vscode/git";
import { vscodeSettings } from "./vscode/settings";
import { AUTH_PROVIDER_ID, ClariveAuthenticationProvider } from "./vscode/authProvider";
import { RemoteStatusBar, STATUS_COMMAND } from "./vscode/statusBar";
import { TokenDecorations, TokensTreeProvider } from "./vscode/tokensTree";
import { WindowUi } from "./vscode/windowUi";

/** Handles the real-editor suite uses to drive commands without clicking (see README, Tests). */
export interface ClariveTestHooks {
  setUi(ui: Ui | undefined): void;
  tokensState(): TokensState;
  treeItems(): vscode.TreeItem[];
  /** The Tokens view's description: who is signed in where. */
  viewDescription(): string | undefined;
  /** The All Tokens view: each user row followed by its token rows. */
  allTokensItems(): vscode.TreeItem[];
  checkExpiry(): Promise<TokenDto[]>;
  /** The accounts VS Code's Accounts menu lists for Clarive ("user @ host"). */
  accounts(): Promise<string[]>;
  /** The status bar item for the workspace remote, recomputed first. */
  remoteStatus(): Promise<RemoteStatus | undefined>;
}

export interface ClariveExtensionApi {
  testHooks?: ClariveTestHooks;
}

export async function activate(context: vscode.ExtensionContext): Promise<ClariveExtensionApi> {
  const output = vscode.window.createOutputChannel("Clarive", { log: true });
  // Method, path and status only: the client never hands bodies, keys or tokens to the log.
  const log = (line: string) => output.info(line);
  const windowUi = new WindowUi();
  let ui: Ui = windowUi;

  // clarive.caCertificate is read at each request: a changed setting applies without a reload.
  const transport = new Transport({ caCertificate: () => vscodeSettings.caCertificate() });
  const session = new Session(
    context.secrets,
    (key, value) => vscode.commands.executeCommand("setContext", key, value),
    {
      log,
      fetch: transport.fetch,
      caFile: () => transport.caFile(),
    },
    context.workspaceState,
  );
  const credentials = new GitCredentialStore(context.secrets);
  const warningDays = () => vscodeSettings.expiryWarningDays();
  const tree = new TokensTreeProvider(session, warningDays, () => void onSessionRejected());
  const decorations = new TokenDecorations();
  const allTokens = new AdminTokensTreeProvider(session);
  const refreshAllTokens = () => allTokens.reload();
  const gitConfig = (folder: string) => localGitConfig(folder, async () => (await gitApi())?.git?.path ?? "git");
  const statusBar = new RemoteStatusBar({
    session,
    credentials,
    gitApi,
    gitConfig,
    tokens: () => tree.tokens,
    warningDays,
    ui: () => ui,
  });

  const deps: CommandDeps = {
    ui: () => ui,
    session,
    settings: vscodeSettings,
    clipboard: vscode.env.clipboard,
    credentials,
    log,
    refreshTokens: async () => {
      await tree.reload();
      decorations.refresh();
      // The administrators' view shows the same tokens among everyone's.
      await allTokens.reload();
      await statusBar.update();
    },
    cachedTokens: () => tree.tokens,
    gitApi,
    gitConfig,
    caFile: () => transport.caFile(),
    caTrust: new CaTrustRecords(context.globalState),
    terminalAuthenticationEnabled: () => vscode.workspace.getConfiguration("git").get<boolean>("terminalAuthentication", true),
    now: () => new Date(),
  };

  async function onSessionRejected(): Promise<void> {
    await session.expire();
    const answer = await ui.message("warning", "Your Clarive session has expired or was revoked. Sign in again.", {}, "Sign In");
    if (answer === "Sign In") await vscode.commands.executeCommand("clarive.signIn");
  }

  const notifier = new ExpiryNotifier({
    ui: () => ui,
    loadTokens: async () => {
      await deps.refreshTokens();
      return tree.currentState.kind === "loaded" ? tree.tokens : undefined;
    },
    warningDays,
    createReplacement: (prefill) => vscode.commands.executeCommand("clarive.createToken", prefill),
    now: () => new Date(),
    state: context.globalState,
  });

  const providerRegistration = new CredentialsProviderRegistration(credentials);
  const register = (id: string, handler: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        // Commands report their own failures; this catches the unexpected so nothing throws at the user raw.
        log(`${id} failed: ${error instanceof Error ? error.message : String(error)}`);
        void ui.message("error", `Clarive: ${error instanceof Error ? error.message : String(error)}`, {});
        return undefined;
      }
    });

  const accountsProvider = new ClariveAuthenticationProvider(
    session,
    async () => (await vscode.commands.executeCommand<boolean>("clarive.signIn")) === true,
    (id) => signOutAccount(deps, id),
  );
  session.onDidChange(() => void accountsProvider.refresh());
  // Who is signed in where, next to the view's title: still there once the sign-in toast is gone.
  const tokensView = vscode.window.createTreeView("clarive.tokens", { treeDataProvider: tree, showCollapseAll: false });
  session.onDidChange(() => {
    const signedIn = session.signedIn;
    tokensView.description = signedIn ? `${signedIn.user.username} @ ${new URL(signedIn.serverUrl).host}` : undefined;
  });

  context.subscriptions.push(
    output,
    accountsProvider,
    vscode.authentication.registerAuthenticationProvider(AUTH_PROVIDER_ID, "Clarive", accountsProvider, { supportsMultipleAccounts: true }),
    register("clarive.switchAccount", async () => {
      const ok = await switchAccount(deps);
      if (ok && session.signedIn) notifier.start();
      return ok;
    }),
    providerRegistration,
    vscode.window.registerFileDecorationProvider(decorations),
    tokensView,
    vscode.window.createTreeView("clarive.allTokens", { treeDataProvider: allTokens, showCollapseAll: true }),
    register("clarive.signIn", async () => {
      const ok = await signIn(deps);
      if (ok) notifier.start();
      return ok;
    }),
    register("clarive.signOut", async () => {
      notifier.stop();
      await signOut(deps);
    }),
    register("clarive.refreshTokens", async () => {
      // The server was down at start: a refresh that reaches it completes the sign-in.
      if (session.unreachable && (await session.retryUnreachable())) notifier.start();
      await deps.refreshTokens();
    }),
    register("clarive.createToken", async (prefill?: TokenFormPrefill) => (await createToken(deps, prefill ?? {}))?.token),
    register("clarive.editToken", (target: TokenTarget) => editToken(deps, target)),
    register("clarive.activateToken", (target: TokenTarget) => setTokenActive(deps, target, true)),
    register("clarive.deactivateToken", (target: TokenTarget) => setTokenActive(deps, target, false)),
    register("clarive.removeToken", (target: TokenTarget) => removeToken(deps, target)),
    register("clarive.rotateToken", async (target: TokenTarget) => (await rotateToken(deps, target))?.token),
    register("clarive.configureGitRemote", (options?: ConfigureRemoteOptions) =>
      // Only a repository hint is accepted from outside; a token arrives only from Create Token.
      configureGitRemote(deps, options?.repository ? { repository: options.repository } : {}),
    ),
    register("clarive.removeGitCredentials", () => removeGitCredentials(deps)),
    register(STATUS_COMMAND, () => statusBar.offerFixes()),
    statusBar,
    // A credential stored, replaced or removed (here or in another window) changes what git uses.
    context.secrets.onDidChange((event) => {
      if (event.key === GIT_CREDENTIALS_SECRET_KEY) void statusBar.update();
    }),
    register("clarive.admin.toggleGlobalPatAuth", () => toggleGlobalPatAuth(deps)),
    register("clarive.admin.setRepositoryPatAccess", () => setRepositoryPatAccess(deps)),
    register("clarive.admin.refreshAllTokens", refreshAllTokens),
    register("clarive.admin.deactivateAnyToken", (target: AdminTokenTarget) => setAnyTokenActive(deps, target, false, refreshAllTokens)),
    register("clarive.admin.activateAnyToken", (target: AdminTokenTarget) => setAnyTokenActive(deps, target, true, refreshAllTokens)),
    register("clarive.admin.removeAnyToken", (target: AdminTokenTarget) => removeAnyToken(deps, target, refreshAllTokens)),
    register("clarive.editAllowedIps", (target: TokenTarget) => editAllowedIps(deps, target)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("clarive.useGitCredentialsProvider")) {
        void providerRegistration.update(vscodeSettings.useGitCredentialsProvider());
      }
      if (event.affectsConfiguration("clarive.expiryWarningDays")) void deps.refreshTokens();
      // A CA that now makes the server reachable: the refresh completes a sign-in that was waiting.
      if (event.affectsConfiguration("clarive.caCertificate")) void vscode.commands.executeCommand("clarive.refreshTokens");
    }),
    { dispose: () => notifier.stop() },
  );

  await providerRegistration.update(vscodeSettings.useGitCredentialsProvider());
  void watchRepositories();
  const restored = await session.restore();
  if (restored === "expired") void onSessionExpiredAtStart();
  await deps.refreshTokens();
  if (restored === "signed-in") notifier.start();

  /** The status bar follows the remotes and the branch of every workspace repository. */
  async function watchRepositories(): Promise<void> {
    const git = await gitApi();
    if (!git) return;
    const watch = (repository: { state: { onDidChange: vscode.Event<void> } }) =>
      context.subscriptions.push(repository.state.onDidChange(() => void statusBar.update()));
    git.repositories.forEach(watch);
    context.subscriptions.push(
      git.onDidOpenRepository((repository) => {
        watch(repository);
        void statusBar.update();
      }),
    );
    await statusBar.update();
  }

  async function onSessionExpiredAtStart(): Promise<void> {
    const answer = await ui.message("warning", "Your Clarive session has expired. Sign in again to manage your tokens.", {}, "Sign In");
    if (answer === "Sign In") await vscode.commands.executeCommand("clarive.signIn");
  }

  const testHooksEnabled = context.extensionMode === vscode.ExtensionMode.Test || process.env.CLARIVE_EXTENSION_TEST_HOOKS === "1";
  return {
    ...(testHooksEnabled && {
      testHooks: {
        setUi: (next) => {
          ui = next ?? windowUi;
        },
        tokensState: () => tree.currentState,
        treeItems: () => tree.getChildren(),
        viewDescription: () => tokensView.description,
        allTokensItems: () => allTokens.getChildren().flatMap((user) => [user, ...allTokens.getChildren(user)]),
        checkExpiry: () => notifier.check(),
        accounts: async () => (await accountsProvider.getSessions()).map((entry) => entry.account.label),
        remoteStatus: async () => {
          await statusBar.update();
          return statusBar.status;
        },
      },
    }),
  };
}

export function deactivate(): void {}
