/**
 * Administrators' commands on the "All Tokens" view (deactivate, reactivate, remove anyone's token)
 * and, for everyone, Edit Allowed IP Addresses on their own tokens. The server checks every rule
 * (admin only, the allow-list's entries); these commands ask, confirm and report.
 */
import type { AdminTokenDto, TokenDto } from "@clarive/shared";
import { describeError } from "./api/errors";
import type { ClariveClient } from "./api/client";
import { requireSignedIn, type CommandDeps } from "./commands/deps";
import { resolveTarget, type TokenTarget } from "./commands/tokenActions";

/** At most this many pages of 200: an inventory larger than that is for the REST API's filters. */
const MAX_PAGES = 50;

/** Every user's tokens, following the inventory's pages. */
export async function loadAllTokens(client: ClariveClient): Promise<AdminTokenDto[]> {
  const tokens: AdminTokenDto[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await client.allTokens(200, cursor);
    tokens.push(...answer.items);
    if (!answer.nextCursor) break;
    cursor = answer.nextCursor;
  }
  return tokens;
}

/** What the All Tokens view's item menus receive: its node (which carries the token) or the token. */
export type AdminTokenTarget = AdminTokenDto | { token: AdminTokenDto };
const tokenOf = (target: AdminTokenTarget): AdminTokenDto => ("username" in target ? target : target.token);

async function requireAdminSession(deps: CommandDeps) {
  const signedIn = await requireSignedIn(deps);
  if (signedIn && !signedIn.user.isAdmin) {
    await deps.ui().message("warning", "Only Clarive administrators can manage other users' tokens.", {});
    return undefined;
  }
  return signedIn;
}

export async function setAnyTokenActive(
  deps: CommandDeps,
  target: AdminTokenTarget,
  active: boolean,
  refreshAll: () => Promise<void>,
): Promise<AdminTokenDto | undefined> {
  const signedIn = await requireAdminSession(deps);
  if (!signedIn) return undefined;
  const token = tokenOf(target);
  const ui = deps.ui();
  if (!active) {
    const answer = await ui.message(
      "warning",
      `Deactivate ${token.username}'s token "${token.description}"?`,
      { modal: true, detail: "git refuses it at once, on every server instance. It can be activated again." },
      "Deactivate",
    );
    if (answer !== "Deactivate") return undefined;
  }
  try {
    const updated = await signedIn.client.setAnyTokenActive(token.id, active);
    deps.log(`${active ? "activated" : "deactivated"} token ${token.id} of ${token.username}`);
    await refreshAll();
    void ui.message("info", `${token.username}'s token "${token.description}" ${active ? "activated" : "deactivated"}.`, {});
    return updated;
  } catch (error) {
    await ui.message("error", `Could not change the token: ${describeError(error)}`, {});
    return undefined;
  }
}

export async function removeAnyToken(deps: CommandDeps, target: AdminTokenTarget, refreshAll: () => Promise<void>): Promise<boolean> {
  const signedIn = await requireAdminSession(deps);
  if (!signedIn) return false;
  const token = tokenOf(target);
  const ui = deps.ui();
  const answer = await ui.message(
    "warning",
    `Remove ${token.username}'s token "${token.description}"?`,
    { modal: true, detail: "git refuses it at once and for good; this cannot be undone." },
    "Remove",
  );
  if (answer !== "Remove") return false;
  try {
    await signedIn.client.deleteAnyToken(token.id);
    deps.log(`removed token ${token.id} of ${token.username}`);
    await refreshAll();
    if (token.username === signedIn.user.username) await deps.refreshTokens();
    void ui.message("info", `${token.username}'s token "${token.description}" removed.`, {});
    return true;
  } catch (error) {
    await ui.message("error", `Could not remove the token: ${describeError(error)}`, {});
    return false;
  }
}

/** "192.0.2.0/24, 2001:db8::/32" → entries; the server checks each and names one it refuses. */
export const parseAllowedIps = (value: string): string[] =>
  value
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);

const LOOKS_LIKE_ADDRESS = /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/;

export function allowedIpsProblem(value: string): string | undefined {
  const entries = parseAllowedIps(value);
  const odd = entries.find((entry) => !LOOKS_LIKE_ADDRESS.test(entry));
  if (odd) return `"${odd}" is not an IPv4 or IPv6 address or CIDR range (e.g. 192.0.2.0/24, 2001:db8::/32).`;
  if (entries.length > 20) return `At most 20 entries (this is ${entries.length}).`;
  return undefined;
}

/** The token form's "Allowed IP addresses": where git may use one of your tokens from. */
export async function editAllowedIps(deps: CommandDeps, target: TokenTarget): Promise<TokenDto | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const token = await resolveTarget(deps, target, "Which token do you want to limit to some addresses?");
  if (!token) return undefined;
  const ui = deps.ui();
  const entered = await ui.input({
    title: `Allowed IP addresses of "${token.description}"`,
    prompt: "IPv4/IPv6 addresses or CIDR ranges git may use the token from, separated by commas; empty: anywhere",
    value: token.allowedIps.join(", "),
    placeHolder: "192.0.2.0/24, 2001:db8::/32",
    validate: allowedIpsProblem,
  });
  if (entered === undefined) return undefined;
  try {
    const updated = await signedIn.client.updateToken(token.id, { allowedIps: parseAllowedIps(entered) });
    deps.log(`changed the allowed addresses of token ${token.id}`);
    await deps.refreshTokens();
    const where = updated.allowedIps.length > 0 ? `only from ${updated.allowedIps.join(", ")}` : "from anywhere";
    void ui.message("info", `Token "${token.description}" can now be used ${where}.`, {});
    return updated;
  } catch (error) {
    await ui.message("error", `Could not change the allowed addresses: ${describeError(error)}`, {});
    return undefined;
  }
}
