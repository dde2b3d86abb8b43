/**
 * The Tokens view: maps the tree model (core/treeModel.ts) onto TreeItems. Loading never throws:
 * a failing server becomes an error item; a rejected API key signs out with a message.
 */
import * as vscode from "vscode";
import type { TokenDto } from "@clarive/shared";
import { ApiError, describeError } from "../api/errors";
import { WARNING_COLOR, type TokenDetailModel } from "../core/tokenItems";
import { treeNodes, type TokensState, type TreeNodeModel } from "../core/treeModel";
import type { Session } from "../session";

export const TOKEN_URI_SCHEME = "clarive-token";

/** A token row; commands from its menus receive it and read `token`. */
export class TokenTreeItem extends vscode.TreeItem {
  readonly details: readonly TokenDetailModel[];

  constructor(
    readonly token: TokenDto,
    model: Extract<TreeNodeModel, { kind: "token" }>["item"],
  ) {
    super(model.label, model.expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    this.id = model.id;
    this.details = model.details;
    this.description = model.description;
    this.tooltip = model.tooltip;
    this.accessibilityInformation = { label: `${model.label}, ${model.status}, ${model.description}` };
    this.contextValue = model.contextValue;
    this.iconPath = new vscode.ThemeIcon(model.icon, model.iconColor ? new vscode.ThemeColor(model.iconColor) : undefined);
    // The label colour (dimmed, warning) comes from TokenDecorations through this URI.
    const look = model.dimmed ? "dimmed" : model.expiry === "warning" ? "warning" : "normal";
    this.resourceUri = vscode.Uri.from({ scheme: TOKEN_URI_SCHEME, path: `/${token.id}`, query: look });
  }
}

/** A row under a token: a field, or the warning that an old secret was used (click: rotate). */
export class TokenDetailItem extends vscode.TreeItem {
  constructor(
    readonly parentToken: TokenDto,
    detail: TokenDetailModel,
  ) {
    super(detail.label, vscode.TreeItemCollapsibleState.None);
    this.id = detail.id;
    this.description = detail.description;
    this.tooltip = detail.tooltip;
    this.contextValue = "token-detail";
    this.iconPath = new vscode.ThemeIcon(detail.icon, detail.iconColor ? new vscode.ThemeColor(detail.iconColor) : undefined);
    if (detail.command) this.command = { command: detail.command, title: detail.label, arguments: [parentToken] };
  }
}

function messageItem(node: Extract<TreeNodeModel, { kind: "message" }>): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.description = node.description;
  item.tooltip = node.tooltip;
  item.contextValue = node.id;
  item.iconPath = new vscode.ThemeIcon(node.icon, node.iconColor ? new vscode.ThemeColor(node.iconColor) : undefined);
  if (node.command) item.command = { command: node.command, title: node.label };
  return item;
}

/** Colours token labels: dimmed when inactive or expired, warning colour when expiring soon. */
export class TokenDecorations implements vscode.FileDecorationProvider {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeFileDecorations = this.changed.event;

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== TOKEN_URI_SCHEME) return undefined;
    if (uri.query === "dimmed") return new vscode.FileDecoration(undefined, undefined, new vscode.ThemeColor("disabledForeground"));
    // The icon says it in shape; the colour is one themes define for light, dark and high contrast.
    if (uri.query === "warning") return new vscode.FileDecoration(undefined, "Expires soon", new vscode.ThemeColor(WARNING_COLOR));
    return undefined;
  }

  refresh(): void {
    this.changed.fire(undefined);
  }
}

export class TokensTreeProvider implements vscode.TreeDataProvider<vscode.TreeItem> {
  private readonly changed = new vscode.EventEmitter<vscode.TreeItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private state: TokensState = { kind: "signed-out" };

  constructor(
    private readonly session: Session,
    private readonly warningDays: () => number,
    private readonly onSessionRejected: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get tokens(): readonly TokenDto[] {
    return this.state.kind === "loaded" ? this.state.tokens : [];
  }

  get currentState(): TokensState {
    return this.state;
  }

  /** Reloads from the server; resolves once the tree shows the result. Never rejects. */
  async reload(): Promise<void> {
    const signedIn = this.session.signedIn;
    if (!signedIn) {
      this.state = this.session.unreachable
        ? { kind: "error", message: `Cannot reach ${this.session.unreachable.serverUrl}` }
        : { kind: "signed-out" };
      this.changed.fire(undefined);
      return;
    }
    try {
      this.state = { kind: "loaded", tokens: await signedIn.client.tokens() };
    } catch (error) {
      if (error instanceof ApiError && error.unauthorized) {
        this.state = { kind: "signed-out" };
        this.onSessionRejected();
      } else {
        this.state = { kind: "error", message: describeError(error) };
      }
    }
    this.changed.fire(undefined);
  }

  getTreeItem(element: vscode.TreeItem): vscode.TreeItem {
    return element;
  }

  getChildren(element?: vscode.TreeItem): vscode.TreeItem[] {
    if (element instanceof TokenTreeItem) return element.details.map((detail) => new TokenDetailItem(element.token, detail));
    if (element) return [];
    return treeNodes(this.state, this.warningDays(), this.now()).map((node) =>
      node.kind === "token" ? new TokenTreeItem(node.token, node.item) : messageItem(node),
    );
  }
}
