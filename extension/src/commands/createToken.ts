/**
 * Create Token: description → expiration → repositories → permission, then the secret is shown
 * once in a modal and copied to the clipboard. The secret is never stored or logged here; only
 * "Use for this workspace's git remote" hands it to Configure Git Remote (SecretStorage).
 */
import type { TokenDto } from "@clarive/shared";
import { resolveExpiry } from "@clarive/shared";
import { describeError } from "../api/errors";
import {
  createTokenRequest,
  expiryChoices,
  repositoriesRefusingTokens,
  type TokenFormPrefill,
} from "../core/tokenForm";
import { expiryDateProblem, parseExpiryDate } from "../core/validation";
import { configureGitRemote } from "./configureRemote";
import { requireSignedIn, type CommandDeps } from "./deps";
import { askDescription, askPermission, askScope, confirmDespitePatAuthOff } from "./tokenForm";

const TITLE = "Create Token";
export const COPY = "Copy";
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
export async function createToken(deps: CommandDeps, prefill: TokenFormPrefill = {}, forRemote = false): Promise<CreatedForCaller | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const ui = deps.ui();
  const { client } = signedIn;
  const [settings, repositories] = await Promise.all([client.gitSettings(), client.repositories()]);

  const description = await askDescription(ui, `${TITLE} (1/4)`, prefill.description);
  if (description === undefined) return undefined;

  const now = deps.now();
  const expiryChoice = await ui.pickOne(expiryChoices(settings.maxLifetimeDays, now, prefill.expiresInDays), {
    title: `${TITLE} (2/4)`,
    placeHolder: "When should the token expire?",
  });
  if (!expiryChoice) return undefined;
  let expiry: { expiresInDays: number } | { expiresAt: Date };
  if (expiryChoice.kind === "days") {
    expiry = { expiresInDays: expiryChoice.days };
  } else {
    const entered = await ui.input({
      title: `${TITLE} (2/4)`,
      prompt: "Expiration date (YYYY-MM-DD, UTC)",
      placeHolder: new Date(now.getTime() + 90 * 86_400_000).toISOString().slice(0, 10),
      validate: (value) => expiryDateProblem(value, settings.maxLifetimeDays, deps.now()),
    });
    const date = entered === undefined ? undefined : parseExpiryDate(entered);
    if (!date) return undefined;
    expiry = { expiresAt: date };
  }
  // The same check the server makes, so a stale form (left open past midnight) fails here, clearly.
  const checked = resolveExpiry(expiry, settings.maxLifetimeDays, deps.now());
  if (!checked.ok) {
    await ui.message("error", checked.message, {});
    return undefined;
  }

  const scope = await askScope(ui, `${TITLE} (3/4)`, repositories, prefill.repositories ?? []);
  if (scope === undefined) return undefined;
  const permission = await askPermission(ui, `${TITLE} (4/4)`, prefill.permission);
  if (!permission) return undefined;

  if (!(await confirmDespitePatAuthOff(ui, repositoriesRefusingTokens(scope, repositories), scope.length === 0))) return undefined;

  let created;
  try {
    created = await client.createToken(createTokenRequest(description, expiry, scope, permission));
  } catch (error) {
    await ui.message("error", `Could not create the token: ${describeError(error)}`, {});
    return undefined;
  }
  const { token: secret, ...token } = created;
  deps.log(`created token ${token.id} (${token.hint})`);
  await deps.refreshTokens();
  if (forRemote) return { token, secret };

  await deps.clipboard.writeText(secret);
  const choice = await ui.message(
    "info",
    `Token "${token.description}" created and copied to the clipboard. Copy it now: it will not be shown again.`,
    { modal: true, detail: secret },
    COPY,
    USE_FOR_REMOTE,
  );
  if (choice === COPY) {
    await deps.clipboard.writeText(secret);
  } else if (choice === USE_FOR_REMOTE) {
    await configureGitRemote(deps, { token: secret, ...(scope.length === 1 && { repository: scope[0] }) });
  }
  return { token };
}
