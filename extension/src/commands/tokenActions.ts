/** Edit, Activate / Deactivate and Remove, from a tree item (or a pick when run without one). */
import type { TokenDto, UpdateTokenRequest } from "@clarive/shared";
import { describeError } from "../api/errors";
import { repositoriesRefusingTokens, updateTokenRequest } from "../core/tokenForm";
import { permissionLabel, scopeLabel } from "../core/tokenItems";
import { requireSignedIn, type CommandDeps } from "./deps";
import { askDescription, askPermission, askScope, confirmDespitePatAuthOff } from "./tokenForm";
import { describeUses, forgetTokenEverywhere, tokenUses, usesCount } from "./tokenCredentials";

/** "description "a" → "b", permission read-only, repositories acme/widgets": what an edit changed. */
export function describeChanges(request: UpdateTokenRequest): string {
  const changes: string[] = [];
  if (request.description !== undefined) changes.push(`description "${request.description}"`);
  if (request.repositories !== undefined)
    changes.push(request.repositories.length === 0 ? "all repositories" : `repositories ${request.repositories.join(", ")}`);
  if (request.permission !== undefined) changes.push(`permission ${permissionLabel(request.permission)}`);
  return changes.join(", ");
}

/** What item-menu commands receive: the tree item (which carries its token) or a token. */
export type TokenTarget = TokenDto | { token: TokenDto } | undefined;

export async function resolveTarget(deps: CommandDeps, target: TokenTarget, placeHolder: string): Promise<TokenDto | undefined> {
  if (target) return "token" in target ? target.token : target;
  const picked = await deps.ui().pickOne(
    deps.cachedTokens().map((token) => ({ label: token.description, description: `${token.hint} · ${scopeLabel(token)}`, token })),
    { title: "Clarive", placeHolder },
  );
  return picked?.token;
}

export async function editToken(deps: CommandDeps, target: TokenTarget): Promise<TokenDto | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const token = await resolveTarget(deps, target, "Which token do you want to edit?");
  if (!token) return undefined;
  const ui = deps.ui();
  const title = `Edit Token "${token.description}"`;
  const repositories = await signedIn.client.repositories();
  const description = await askDescription(ui, `${title} (1/3): description`, token.description);
  if (description === undefined) return undefined;
  const scope = await askScope(ui, `${title} (2/3): repositories`, repositories, token.allRepositories ? [] : token.repositories);
  if (scope === undefined) return undefined;
  const permission = await askPermission(ui, `${title} (3/3): permission`, token.permission);
  if (!permission) return undefined;
  const request = updateTokenRequest(token, { description, scope, permission });
  if (Object.keys(request).length === 0) {
    void ui.message("info", "Nothing changed.", {});
    return token;
  }
  if (request.repositories && !(await confirmDespitePatAuthOff(ui, repositoriesRefusingTokens(scope, repositories), scope.length === 0))) {
    return undefined;
  }
  try {
    const updated = await signedIn.client.updateToken(token.id, request);
    deps.log(`edited token ${token.id}`);
    await deps.refreshTokens();
    void ui.message("info", `Token "${token.description}" changed: ${describeChanges(request)}.`, {});
    return updated;
  } catch (error) {
    await ui.message("error", `Could not edit the token: ${describeError(error)}`, {});
    return undefined;
  }
}

export async function setTokenActive(deps: CommandDeps, target: TokenTarget, active: boolean): Promise<TokenDto | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const token = await resolveTarget(deps, target, `Which token do you want to ${active ? "activate" : "deactivate"}?`);
  if (!token) return undefined;
  try {
    const updated = await signedIn.client.updateToken(token.id, { active });
    deps.log(`${active ? "activated" : "deactivated"} token ${token.id}`);
    await deps.refreshTokens();
    // Kept, since Activate brings the token back; but git using it is refused meanwhile: say where.
    const uses = describeUses(await tokenUses(deps, signedIn, token));
    const where = uses ? (active ? ` git can use it again: ${uses}.` : ` git is refused where it uses it: ${uses}.`) : "";
    void deps.ui().message("info", `Token "${token.description}" ${active ? "activated" : "deactivated"}.${where}`, {});
    return updated;
  } catch (error) {
    await deps.ui().message("error", `Could not ${active ? "activate" : "deactivate"} the token: ${describeError(error)}`, {});
    return undefined;
  }
}

export const REMOVE = "Remove";

export async function removeToken(deps: CommandDeps, target: TokenTarget): Promise<boolean> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return false;
  const token = await resolveTarget(deps, target, "Which token do you want to remove?");
  if (!token) return false;
  const ui = deps.ui();
  const uses = await tokenUses(deps, signedIn, token);
  const here = describeUses(uses);
  const answer = await ui.message(
    "warning",
    `Remove the token "${token.description}" (${token.hint})?`,
    {
      modal: true,
      detail: `git clients using it are refused from their next request. This cannot be undone.${here ? ` Its git credentials on this machine are removed too: ${here}.` : ""}`,
    },
    REMOVE,
  );
  if (answer !== REMOVE) return false;
  try {
    await signedIn.client.deleteToken(token.id);
    deps.log(`removed token ${token.id}`);
    // A credential for a token that no longer exists can only fail: forget it (and strip it from URLs).
    await forgetTokenEverywhere(deps, token, uses);
    if (usesCount(uses) > 0) deps.log(`removed ${usesCount(uses)} git credential(s) of token ${token.id}`);
    await deps.refreshTokens();
    void ui.message(
      "info",
      `Token "${token.description}" removed.${here ? ` Its git credentials were removed too: ${here}; configure those remotes with another token.` : ""}`,
      {},
    );
    return true;
  } catch (error) {
    await ui.message("error", `Could not remove the token: ${describeError(error)}`, {});
    return false;
  }
}
