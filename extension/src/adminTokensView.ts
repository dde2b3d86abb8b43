/**
 * The "All Tokens" view (administrators only, `clarive.isAdmin`): every user's tokens grouped by
 * user (adminTokensModel.ts), with Deactivate, Activate and Remove on each token's menu.
 */
import * as vscode from "vscode";
import type { AdminTokenDto } from "@clarive/shared";
import { describeError } from "./api/errors";
import { loadAllTokens } from "./adminTokenCommands";
import { adminTreeNodes, type AdminTokenNode, type AdminUserNode } from "./adminTokensModel";
import type { Session } from "./session";

export class AdminUserItem extends vscode.TreeItem {
  constructor(readonly node: AdminUserNode) {
    super(node.username, vscode.TreeItemCollapsibleState.Expanded);
    this.id = node.id;
    this.description = node.description;
    this.contextValue = "admin-user";
    this.iconPath = new vscode.ThemeIcon("account");
  }
}

/** A token row; its menu commands receive it and read `token`. */
export class AdminTokenItem extends vscode.TreeItem {
  readonly token: AdminTokenDto;

  constructor(node: AdminTokenNode) {
    super(node.label, vscode.TreeItemCollapsibleState.None);
    this.token = node.token;
    this.id = node.id;
    this.description = node.description;
    this.tooltip = node.tooltip;
    this.contextValue = node.contextValue;
    this.iconPath = new vscode.ThemeIcon(node.icon, node.dimmed ? new vscode.ThemeColor("disabledForeground") : undefined);
  }
}

type State = { kind: "idle" } | { kind: "loaded"; tokens: AdminTokenDto[] } | { kind: "error"; message: string };

export class AdminTokensTreeProvider implements vscode.TreeDataProvider<vscode.TreeItem> {
  private readonly changed = new vscode.EventEmitter<vscode.TreeItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private state: State = { kind: "idle" };

  constructor(
    private readonly session: Session,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get tokens(): readonly AdminTokenDto[] {
    return this.state.kind === "loaded" ? this.state.tokens : [];
  }

  /** Reloads every page from the server (administrators only); never rejects. */
  async reload(): Promise<void> {
    const signedIn = this.session.signedIn;
    if (!signedIn?.user.isAdmin) {
      this.state = { kind: "idle" };
    } else {
      try {
        this.state = { kind: "loaded", tokens: await loadAllTokens(signedIn.client) };
      } catch (error) {
        this.state = { kind: "error", message: describeError(error) };
      }
    }
    this.changed.fire(undefined);
  }

  getTreeItem(element: vscode.TreeItem): vscode.TreeItem {
    return element;
  }

  getChildren(element?: vscode.TreeItem): vscode.TreeItem[] {
    if (element instanceof AdminUserItem) return element.node.tokens.map((node) => new AdminTokenItem(node));
    if (element) return [];
    if (this.state.kind === "error") {
      const item = new vscode.TreeItem(`Could not load the tokens: ${this.state.message}`);
      item.iconPath = new vscode.ThemeIcon("error");
      return [item];
    }
    return adminTreeNodes(this.tokens, this.now()).map((node) => new AdminUserItem(node));
  }
}
