/**
 * What each token looks like in the Tokens tree, as plain data: the vscode adapter
 * (vscode/tokensTree.ts) only maps this onto TreeItem, ThemeIcon and ThemeColor.
 */
import type { TokenDto } from "@clarive/shared";
import { expiryState, formatDate, relativeExpiry, type ExpiryState } from "./expiry";

export type TokenContextValue = "token:active" | "token:inactive" | "token:expired";

export interface TokenItemModel {
  id: string;
  label: string;
  description: string;
  /** Markdown-free plain lines, one field each. */
  tooltip: string;
  /** A codicon id. */
  icon: string;
  /** A theme colour id, or undefined for the default foreground. */
  iconColor: string | undefined;
  contextValue: TokenContextValue;
  expiry: ExpiryState;
  /** Inactive and expired tokens are drawn dimmed. */
  dimmed: boolean;
}

export const permissionLabel = (permission: TokenDto["permission"]): string => (permission === "read-write" ? "read & write" : "read-only");

/** "all repositories", "acme/widgets" or "acme/widgets +2". */
export function scopeLabel(token: Pick<TokenDto, "allRepositories" | "repositories">): string {
  if (token.allRepositories || token.repositories.length === 0) return "all repositories";
  const [first, ...rest] = token.repositories;
  return rest.length === 0 ? `${first}` : `${first} +${rest.length}`;
}

export function contextValueOf(token: Pick<TokenDto, "active" | "expired" | "expiresAt">, now: Date): TokenContextValue {
  if (token.expired || Date.parse(token.expiresAt) <= now.getTime()) return "token:expired";
  return token.active ? "token:active" : "token:inactive";
}

function iconOf(token: TokenDto, context: TokenContextValue): string {
  if (context === "token:expired") return "history";
  if (context === "token:inactive") return "circle-slash";
  // A pencil for tokens that can push, an eye for clone/fetch-only ones.
  return token.permission === "read-write" ? "edit" : "eye";
}

export function tooltipOf(token: TokenDto, now: Date): string {
  const lastUsed = token.lastUsedAt ? `${formatDate(token.lastUsedAt)}${token.lastUsedIp ? ` from ${token.lastUsedIp}` : ""}` : "never";
  const status = contextValueOf(token, now) === "token:expired" ? "expired" : token.active ? "active" : "inactive";
  return [
    token.description,
    `Token: ${token.hint}`,
    `Permission: ${permissionLabel(token.permission)}`,
    `Repositories: ${token.allRepositories || token.repositories.length === 0 ? "all repositories" : token.repositories.join(", ")}`,
    `Status: ${status}`,
    `Expires: ${formatDate(token.expiresAt)} (${relativeExpiry(token.expiresAt, now)})`,
    `Created: ${formatDate(token.createdAt)}`,
    `Last used: ${lastUsed}`,
  ].join("\n");
}

export function tokenItemModel(token: TokenDto, warningDays: number, now: Date): TokenItemModel {
  const contextValue = contextValueOf(token, now);
  const expiry = expiryState(token, warningDays, now);
  const parts = [permissionLabel(token.permission), scopeLabel(token), relativeExpiry(token.expiresAt, now)];
  if (contextValue === "token:inactive") parts.unshift("inactive");
  return {
    id: `token-${token.id}`,
    label: token.description,
    description: parts.join(" · "),
    tooltip: tooltipOf(token, now),
    icon: iconOf(token, contextValue),
    iconColor:
      contextValue === "token:expired"
        ? "errorForeground"
        : contextValue === "token:inactive"
          ? "disabledForeground"
          : expiry === "warning"
            ? "list.warningForeground"
            : undefined,
    contextValue,
    expiry,
    dimmed: contextValue !== "token:active",
  };
}

/** Active tokens first, then inactive, then expired; within a group the soonest expiry first. */
export function sortTokens(tokens: readonly TokenDto[], now: Date): TokenDto[] {
  const rank: Record<TokenContextValue, number> = { "token:active": 0, "token:inactive": 1, "token:expired": 2 };
  return [...tokens].sort(
    (a, b) =>
      rank[contextValueOf(a, now)] - rank[contextValueOf(b, now)] || Date.parse(a.expiresAt) - Date.parse(b.expiresAt) || a.id - b.id,
  );
}
