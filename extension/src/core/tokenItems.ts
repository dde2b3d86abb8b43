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
  /** A codicon id: the token's state, readable without colour (key, warning, circle-slash, error). */
  icon: string;
  /** A theme colour id that themes define for light, dark and high contrast, or undefined for the default. */
  iconColor: string | undefined;
  contextValue: TokenContextValue;
  expiry: ExpiryState;
  /** Inactive and expired tokens are drawn dimmed. */
  dimmed: boolean;
  /** In words, for the tooltip and screen readers: "active", "active, expires soon", "inactive", "expired". */
  status: string;
  /** The rows under the token when it is expanded. */
  details: TokenDetailModel[];
  /** Shown expanded: when a detail row is a warning the user must see. */
  expanded: boolean;
}

/** One row under a token: a field and its value, or a warning. */
export interface TokenDetailModel {
  id: string;
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  iconColor?: string;
  /** A command run on click, with the token as argument. */
  command?: string;
}

export const WARNING_COLOR = "problemsWarningIcon.foreground";
export const ERROR_COLOR = "problemsErrorIcon.foreground";

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

function statusOf(token: TokenDto, context: TokenContextValue, expiry: ExpiryState): string {
  if (context === "token:expired") return "expired";
  if (context === "token:inactive") return "inactive";
  if (token.reuseDetectedAt) return "active, an old secret was used (leaked?)";
  return expiry === "warning" ? "active, expires soon" : "active";
}

function lookOf(token: TokenDto, context: TokenContextValue, expiry: ExpiryState): { icon: string; iconColor: string | undefined } {
  if (context === "token:expired") return { icon: "error", iconColor: ERROR_COLOR };
  if (context === "token:inactive") return { icon: "circle-slash", iconColor: "disabledForeground" };
  if (token.reuseDetectedAt) return { icon: "warning", iconColor: ERROR_COLOR };
  if (expiry === "warning") return { icon: "warning", iconColor: WARNING_COLOR };
  return { icon: "key", iconColor: undefined };
}

const lastUsedText = (token: TokenDto) =>
  token.lastUsedAt ? `${formatDate(token.lastUsedAt)}${token.lastUsedIp ? ` from ${token.lastUsedIp}` : ""}` : "never";

const repositoriesText = (token: TokenDto) =>
  token.allRepositories || token.repositories.length === 0 ? "all repositories" : token.repositories.join(", ");

export const REUSE_WARNING =
  "A secret rotated out of this token was used after its grace window: someone else has a copy. Rotate the token again (that secret stays refused) and find where it was used.";

export function tooltipOf(token: TokenDto, now: Date, warningDays = 7): string {
  const context = contextValueOf(token, now);
  return [
    token.description,
    `Token: ${token.hint}`,
    `Permission: ${permissionLabel(token.permission)}`,
    `Repositories: ${repositoriesText(token)}`,
    `Status: ${statusOf(token, context, expiryState(token, warningDays, now))}`,
    `Expires: ${formatDate(token.expiresAt)} (${relativeExpiry(token.expiresAt, now)})`,
    `Created: ${formatDate(token.createdAt)}`,
    ...(token.rotatedAt ? [`Rotated: ${formatDate(token.rotatedAt)}`] : []),
    `Last used: ${lastUsedText(token)}`,
    ...(token.reuseDetectedAt ? [`Warning: an old secret was used on ${formatDate(token.reuseDetectedAt)}. ${REUSE_WARNING}`] : []),
  ].join("\n");
}

export function tokenDetails(token: TokenDto, now: Date): TokenDetailModel[] {
  const id = (field: string) => `token-${token.id}-${field}`;
  const row = (field: string, label: string, description: string, icon: string): TokenDetailModel => ({
    id: id(field),
    label,
    description,
    tooltip: `${label}: ${description}`,
    icon,
  });
  return [
    ...(token.reuseDetectedAt
      ? [
          {
            id: id("reuse"),
            label: "Possibly leaked: rotate again",
            description: `an old secret was used ${formatDate(token.reuseDetectedAt)}`,
            tooltip: REUSE_WARNING,
            icon: "warning",
            iconColor: ERROR_COLOR,
            command: "clarive.rotateToken",
          },
        ]
      : []),
    row("permission", "Permission", permissionLabel(token.permission), "lock"),
    row("repositories", token.repositories.length === 1 ? "Repository" : "Repositories", repositoriesText(token), "repo"),
    row("expires", "Expires", `${formatDate(token.expiresAt)} (${relativeExpiry(token.expiresAt, now)})`, "calendar"),
    row("last-used", "Last used", lastUsedText(token), "history"),
    ...(token.recentIps.length > 0
      ? [row("recent-ips", "Used from", token.recentIps.map((r) => `${r.ip} (${formatDate(r.lastUsedAt)})`).join(", "), "globe")]
      : []),
    ...(token.allowedIps.length > 0 ? [row("allowed-ips", "Allowed from", token.allowedIps.join(", "), "shield")] : []),
    ...(token.rotatedAt ? [row("rotated", "Rotated", formatDate(token.rotatedAt), "sync")] : []),
    row("hint", "Token", token.hint, "key"),
  ];
}

export function tokenItemModel(token: TokenDto, warningDays: number, now: Date): TokenItemModel {
  const contextValue = contextValueOf(token, now);
  const expiry = expiryState(token, warningDays, now);
  // The expiry first: it is what a narrow sidebar must not cut off.
  const parts = [relativeExpiry(token.expiresAt, now), permissionLabel(token.permission), scopeLabel(token)];
  if (contextValue === "token:inactive") parts.unshift("inactive");
  if (token.reuseDetectedAt && contextValue === "token:active") parts.unshift("leaked?");
  return {
    id: `token-${token.id}`,
    label: token.description,
    description: parts.join(" · "),
    tooltip: tooltipOf(token, now, warningDays),
    ...lookOf(token, contextValue, expiry),
    contextValue,
    expiry,
    dimmed: contextValue !== "token:active",
    status: statusOf(token, contextValue, expiry),
    details: tokenDetails(token, now),
    expanded: token.reuseDetectedAt !== null && contextValue === "token:active",
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
