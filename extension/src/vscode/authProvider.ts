/**
 * VS Code's own view of Clarive accounts (`contributes.authentication`, id "clarive"): every kept
 * account shows in the Accounts menu, where signing out of one signs it out here; other extensions
 * can ask for a session (VS Code asks the user's consent first) and get that account's API key.
 */
import * as vscode from "vscode";
import type { Account, Session } from "../session";

export const AUTH_PROVIDER_ID = "clarive";

function toSession(account: Account): vscode.AuthenticationSession {
  const host = new URL(account.serverUrl).host;
  return { id: account.id, accessToken: account.apiKey, account: { id: account.id, label: `${account.username} @ ${host}` }, scopes: [] };
}

export class ClariveAuthenticationProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.changed.event;
  private known: vscode.AuthenticationSession[] = [];

  constructor(
    private readonly session: Session,
    /** Runs Sign In; resolves once it succeeded or was given up. */
    private readonly signIn: () => Promise<boolean>,
    /** Signs out the account with this id (the active one through the command, others directly). */
    private readonly signOut: (id: string) => Promise<void>,
  ) {}

  async getSessions(): Promise<vscode.AuthenticationSession[]> {
    return (await this.session.accounts()).map(toSession);
  }

  async createSession(): Promise<vscode.AuthenticationSession> {
    if (!(await this.signIn())) throw new Error("Sign-in to Clarive was cancelled or failed.");
    const id = this.session.activeAccountId;
    const created = (await this.getSessions()).find((candidate) => candidate.id === id);
    if (!created) throw new Error("Sign-in to Clarive did not keep an account.");
    return created;
  }

  async removeSession(id: string): Promise<void> {
    await this.signOut(id);
    await this.refresh();
  }

  /** Tells VS Code what changed since the last call (after any sign-in, sign-out or switch). */
  async refresh(): Promise<void> {
    const now = await this.getSessions();
    const ids = (list: readonly vscode.AuthenticationSession[]) => new Set(list.map((entry) => entry.id));
    const before = ids(this.known);
    const after = ids(now);
    const added = now.filter((entry) => !before.has(entry.id));
    const removed = this.known.filter((entry) => !after.has(entry.id));
    const changed = now.filter(
      (entry) => before.has(entry.id) && this.known.find((old) => old.id === entry.id)?.accessToken !== entry.accessToken,
    );
    this.known = now;
    if (added.length + removed.length + changed.length > 0) this.changed.fire({ added, removed, changed });
  }

  dispose(): void {
    this.changed.dispose();
  }
}
