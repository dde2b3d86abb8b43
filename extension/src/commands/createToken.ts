/**
 * Create Token: description → expiration → repositories → permission, then the secret is shown
 * once in a modal and copied to the clipboard. The secret is never stored or logged here; only
 * "Use for this workspace's git remote" hands it to Configure Git Remote (SecretStorage).
 */
import type { TokenDto } from "@clarive/shared";
import type { TokenFormPrefill } from "../core/tokenForm";
import { configureGitRemote } from "./configureRemote";
import type { CommandDeps } from "./deps";
import { createTokenWithForm } from "./tokenCreation";

export const COPY = "Copy";
/** A secret shown once is closed, not cancelled: the modal's dismiss button says so. */
export const CLOSE = "Close";
export const USE_FOR_REMOTE = "Use for this workspace's git remote";

export interface CreatedForCaller {
  token: TokenDto;
  /** Present only when the caller asked for it (Configure Git Remote creating a token for itself). */
  secret?: string;
}

/**
 * Runs the form. `forRemote` is set by Configure Git Remote, which stores the secret itself: no
 * modal, no clipboard then.
 */
export async function createToken(
  deps: CommandDeps,
  prefill: TokenFormPrefill = {},
  forRemote = false,
): Promise<CreatedForCaller | undefined> {
  const created = await createTokenWithForm(deps, prefill);
  if (!created) return undefined;
  const { token, secret, scope } = created;
  if (forRemote) return { token, secret };
  const ui = deps.ui();

  await deps.clipboard.writeText(secret);
  const choice = await ui.message(
    "info",
    `Token "${token.description}" created and copied to the clipboard. Copy it now: it will not be shown again.`,
    { modal: true, detail: secret, closeLabel: CLOSE },
    COPY,
    USE_FOR_REMOTE,
  );
  if (choice === COPY) {
    await deps.clipboard.writeText(secret);
  } else if (choice === USE_FOR_REMOTE) {
    await configureGitRemote(deps, { token: { secret, tokenId: token.id }, ...(scope.length === 1 && { repository: scope[0] }) });
  }
  return { token };
}
