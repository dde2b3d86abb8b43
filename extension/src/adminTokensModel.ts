/**
 * The "All Tokens" view for administrators, as plain data (no vscode import, so the unit suite
 * tests it): every user's tokens grouped by owner, each token row saying its state and where it
 * was last used.
 */
import type { AdminTokenDto } from "@clarive/shared";
import { formatDate, relativeExpiry } from "./core/expiry";
import { contextValueOf, permissionLabel, scopeLabel, type TokenContextValue } from "./core/tokenItems";

export interface AdminUserNode {
  kind: "user";
  id: string;
  username: string;
  /** "3 tokens, 2 active" */
  description: string;
  tokens: AdminTokenNode[];
}

export interface AdminTokenNode {
  kind: "token";
  id: string;
  token: AdminTokenDto;
  label: string;
  description: string;
  tooltip: string;
  /** "admin-token:active" | "admin-token:inactive" | "admin-token:expired": which actions the menu offers. */
  contextValue: `admin-${TokenContextValue}`;
  icon: string;
  dimmed: boolean;
}

/** Where the token was last used, in words: "192.0.2.7, 2026-06-14 10:00 UTC", or "never used". */
export function lastUsedWhere(token: AdminTokenDto): string {
  const latest = token.recentIps[0];
  if (latest) return `last used from ${latest.ip}, ${formatDate(latest.lastUsedAt)}`;
  if (token.lastUsedAt) return `last used ${token.lastUsedIp ? `from ${token.lastUsedIp}, ` : ""}${formatDate(token.lastUsedAt)}`;
  return "never used";
}

function tokenNode(token: AdminTokenDto, now: Date): AdminTokenNode {
  const context = contextValueOf(token, now);
  const state = context === "token:active" ? relativeExpiry(token.expiresAt, now) : context === "token:inactive" ? "inactive" : "expired";
  const where = lastUsedWhere(token);
  return {
    kind: "token",
    id: `admin-token-${token.id}`,
    token,
    label: token.description,
    description: [state, where, ...(token.exceedsPolicy ? ["beyond the lifetime policy"] : [])].join(" · "),
    tooltip: [
      `${token.description} (${token.username})`,
      `Token: ${token.hint}`,
      `Permission: ${permissionLabel(token.permission)}`,
      `Repositories: ${scopeLabel(token)}`,
      `Expires: ${formatDate(token.expiresAt)} (${relativeExpiry(token.expiresAt, now)})`,
      `Where: ${where}`,
      ...(token.recentIps.length > 1 ? [`Recent addresses: ${token.recentIps.map((r) => r.ip).join(", ")}`] : []),
      ...(token.allowedIps.length > 0 ? [`Allowed from: ${token.allowedIps.join(", ")}`] : []),
      ...(token.exceedsPolicy ? ["Its lifetime is longer than the server's maxLifetimeDays allows today."] : []),
    ].join("\n"),
    contextValue: `admin-${context}`,
    icon: context === "token:active" ? "key" : context === "token:inactive" ? "circle-slash" : "error",
    dimmed: context !== "token:active",
  };
}

/** Users in alphabetical order (any case), each with their tokens newest first, as the server lists them. */
export function adminTreeNodes(tokens: readonly AdminTokenDto[], now: Date): AdminUserNode[] {
  const byUser = new Map<string, AdminTokenDto[]>();
  for (const token of tokens) byUser.set(token.username, [...(byUser.get(token.username) ?? []), token]);
  return [...byUser.entries()]
    .sort(([a], [b]) => a.localeCompare(b, "en", { sensitivity: "base" }))
    .map(([username, owned]) => {
      const nodes = owned.map((token) => tokenNode(token, now));
      const active = nodes.filter((n) => n.contextValue === "admin-token:active").length;
      return {
        kind: "user",
        id: `admin-user-${username}`,
        username,
        description: `${owned.length} ${owned.length === 1 ? "token" : "tokens"}, ${active} active`,
        tokens: nodes,
      };
    });
}
