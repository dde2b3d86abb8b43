/**
 * Several Clarive accounts (servers or users), one active per window: Switch Account from the
 * view's title, and signing out of an account that is not the active one (from VS Code's Accounts
 * menu).
 */
import { describeError } from "../api/errors";
import type { CommandDeps } from "./deps";
import { signIn, signOut } from "./signIn";

const ANOTHER = "Sign in to another account…";

/** True when this window ends up signed in to the account picked. */
export async function switchAccount(deps: CommandDeps): Promise<boolean> {
  const ui = deps.ui();
  const active = deps.session.activeAccountId;
  const accounts = await deps.session.accounts();
  const picked = await ui.pickOne(
    [
      ...accounts.map((account) => ({
        label: `${account.username} @ ${new URL(account.serverUrl).host}`,
        description: account.id === active ? "active in this window" : account.serverUrl,
        id: account.id,
      })),
      { label: ANOTHER, description: "another server or user", id: undefined },
    ],
    { title: "Clarive: Switch Account", placeHolder: "Which Clarive account should this window use?" },
  );
  if (!picked) return false;
  if (picked.id === undefined) return signIn(deps);
  if (picked.id === active) return true;
  try {
    const signedIn = await deps.session.switchTo(picked.id);
    deps.log(`switched to ${signedIn.user.username} on ${signedIn.serverUrl}`);
    await deps.refreshTokens();
    void ui.message("info", `This window now uses ${signedIn.user.username} on ${signedIn.serverUrl}.`, {});
    return true;
  } catch (error) {
    await ui.message("error", `Could not switch to ${picked.label}: ${describeError(error)}`, {});
    return false;
  }
}

/** Signs out one account: the active one as Sign Out does; another by revoking its key (best effort). */
export async function signOutAccount(deps: CommandDeps, id: string): Promise<void> {
  if (id === deps.session.activeAccountId) {
    await signOut(deps);
    return;
  }
  const account = (await deps.session.accounts()).find((candidate) => candidate.id === id);
  if (!account) return;
  const revoked = await deps.session
    .clientFor(account.serverUrl, account.apiKey)
    .logout()
    .then(
      () => true,
      () => false,
    );
  await deps.session.forgetAccount(id);
  deps.log(`signed out ${account.username} of ${account.serverUrl}`);
  void deps
    .ui()
    .message(
      "info",
      `Signed out ${account.username} of ${account.serverUrl}${revoked ? "; the API key was revoked." : " (the server could not be told, the key was forgotten here)."}`,
      {},
    );
}
