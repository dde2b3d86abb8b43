/**
 * The Create Token form: description → expiration → repositories → permission, then the token is
 * created on the server. Shared by Create Token (which then shows the secret once) and Configure
 * Git Remote (which stores it in SecretStorage), so neither command module imports the other's.
 */
import type { TokenDto } from "@clarive/shared";
import { resolveExpiry } from "@clarive/shared";
import { describeError } from "../api/errors";
import { createTokenRequest, expiryChoices, repositoriesRefusingTokens, type TokenFormPrefill } from "../core/tokenForm";
import { expiryDateProblem, parseExpiryDate } from "../core/validation";
import { requireSignedIn, type CommandDeps } from "./deps";
import { rememberCreated } from "./recentToken";
import { askDescription, askPermission, askScope, confirmDespitePatAuthOff } from "./tokenForm";

const TITLE = "Create Token";

export interface CreatedToken {
  token: TokenDto;
  secret: string;
  /** The repositories the token is restricted to; empty for all of them. */
  scope: string[];
}

/** Runs the form and creates the token; undefined when the user cancels or the server refuses. */
export async function createTokenWithForm(deps: CommandDeps, prefill: TokenFormPrefill = {}): Promise<CreatedToken | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const ui = deps.ui();
  const { client } = signedIn;
  const [settings, repositories] = await Promise.all([client.gitSettings(), client.repositories()]);

  const description = await askDescription(ui, `${TITLE} (1/4): description`, prefill.description);
  if (description === undefined) return undefined;

  const now = deps.now();
  const expiryChoice = await ui.pickOne(expiryChoices(settings.maxLifetimeDays, now, prefill.expiresInDays), {
    title: `${TITLE} (2/4): expiration`,
    placeHolder: "When should the token expire?",
  });
  if (!expiryChoice) return undefined;
  let expiry: { expiresInDays: number } | { expiresAt: Date };
  if (expiryChoice.kind === "days") {
    expiry = { expiresInDays: expiryChoice.days };
  } else {
    const entered = await ui.input({
      title: `${TITLE} (2/4): expiration date`,
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

  const scope = await askScope(ui, `${TITLE} (3/4): repositories`, repositories, prefill.repositories ?? []);
  if (scope === undefined) return undefined;
  const permission = await askPermission(ui, `${TITLE} (4/4): permission`, prefill.permission);
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
  if (deps.session.activeAccountId) rememberCreated(deps.session.activeAccountId, token.id, secret, deps.now());
  await deps.refreshTokens();
  return { token, secret, scope };
}
