/**
 * The status bar item for the workspace repository's remote (core/remoteStatus.ts): which token git
 * uses and when it expires, in the theme's warning or error colours when it needs attention. A click
 * offers the fixes (rotate, configure, activate, sign in).
 */
import * as vscode from "vscode";
import type { TokenDto } from "@clarive/shared";
import { pushRemote, remoteStatus, type RemoteFix, type RemoteStatus } from "../core/remoteStatus";
import type { GitCredentialStore } from "../git/credentialStore";
import type { GitApi } from "../git/gitApi";
import { readRemote } from "../git/remotes";
import type { LocalGitConfig } from "../git/gitConfig";
import type { Session } from "../session";
import type { Ui } from "../ui/ui";

export const STATUS_COMMAND = "clarive.remoteStatusActions";

const FIXES: Record<RemoteFix, { label: string; command: string }> = {
  rotate: { label: "Rotate Token", command: "clarive.rotateToken" },
  configure: { label: "Configure Git Remote", command: "clarive.configureGitRemote" },
  activate: { label: "Activate Token", command: "clarive.activateToken" },
  signIn: { label: "Sign In", command: "clarive.signIn" },
};

export interface StatusBarDeps {
  session: Session;
  credentials: GitCredentialStore;
  gitApi(): Promise<GitApi | undefined>;
  gitConfig(folder: string): LocalGitConfig;
  tokens(): readonly TokenDto[];
  warningDays(): number;
  ui(): Ui;
}

export class RemoteStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("clarive.remote", vscode.StatusBarAlignment.Left, 50);
  private current: RemoteStatus | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly deps: StatusBarDeps) {
    this.item.name = "Clarive: git remote token";
    this.item.command = STATUS_COMMAND;
  }

  get status(): RemoteStatus | undefined {
    return this.current;
  }

  /** Recomputes (serialised, so a slow read never overwrites a newer one); resolves when shown. */
  update(): Promise<void> {
    this.pending = this.pending.then(() => this.compute()).catch(() => undefined);
    return this.pending;
  }

  private async compute(): Promise<void> {
    const git = await this.deps.gitApi();
    const repository = git?.repositories[0];
    let status: RemoteStatus | undefined;
    if (repository) {
      const chosen = pushRemote(repository.state.remotes, repository.state.HEAD?.upstream?.remote);
      // The URL as git reads it (first value), not the API's possibly stale copy.
      const urls = chosen ? (await readRemote(this.deps.gitConfig(repository.rootUri.fsPath), chosen.name)).urls : [];
      const url = urls[0];
      const stored = url ? await this.deps.credentials.forRemoteUrl(url) : undefined;
      status = remoteStatus({
        remote: chosen && url ? { name: chosen.name, url } : undefined,
        serverUrl: this.deps.session.signedIn?.serverUrl,
        stored: stored && { secret: stored.token, ...(stored.tokenId !== undefined && { tokenId: stored.tokenId }) },
        tokens: this.deps.tokens(),
        warningDays: this.deps.warningDays(),
        now: new Date(),
      });
    }
    this.current = status;
    if (!status) {
      this.item.hide();
      return;
    }
    this.item.text = status.text;
    this.item.tooltip = status.tooltip;
    this.item.accessibilityInformation = { label: status.tooltip };
    this.item.backgroundColor =
      status.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : status.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
    this.item.show();
  }

  /** The click: the fixes for the current state, run as the commands they name. */
  async offerFixes(): Promise<void> {
    const status = this.current;
    if (!status) return;
    const picked = await this.deps.ui().pickOne(
      status.fixes.map((fix) => ({ label: FIXES[fix].label, fix })),
      { title: "Clarive: git remote", placeHolder: status.tooltip },
    );
    if (!picked) return;
    const { command } = FIXES[picked.fix];
    await vscode.commands.executeCommand(
      command,
      ...(status.token && (picked.fix === "rotate" || picked.fix === "activate") ? [status.token] : []),
    );
    await this.update();
  }

  dispose(): void {
    this.item.dispose();
  }
}
