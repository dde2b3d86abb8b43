/**
 * Rotate Token: a new secret for the same token (id, description, scope, permission), the old one
 * working for the grace window picked. Every git credential of this machine that holds the old
 * secret (secret storage, or a URL in a workspace remote) gets the new one in the same step, so
 * `git push` keeps working without a prompt; the new secret is shown once, like a new token's.
 */
import type { TokenDto } from "@clarive/shared";
import { describeError } from "../api/errors";
import { formatDate } from "../core/expiry";
import { CLOSE, COPY } from "./createToken";
import { requireSignedIn, type CommandDeps } from "./deps";
import { resolveTarget, type TokenTarget } from "./tokenActions";
import { describeUses, replaceTokenEverywhere, tokenUses, usesCount } from "./tokenCredentials";

export const GRACE_CHOICES: ReadonlyArray<{ label: string; detail: string; minutes: number }> = [
  { label: "Now", detail: "the old secret stops working at once", minutes: 0 },
  { label: "In 1 hour", detail: "the old secret keeps working for one more hour", minutes: 60 },
  { label: "In 1 day", detail: "the old secret keeps working for 24 more hours, e.g. for a CI job to be updated", minutes: 1440 },
];

export interface RotatedToken {
  token: TokenDto;
  /** What now holds the new secret, e.g. "acme/widgets (secret storage)". */
  updated: string;
}

export async function rotateToken(deps: CommandDeps, target: TokenTarget): Promise<RotatedToken | undefined> {
  const signedIn = await requireSignedIn(deps);
  if (!signedIn) return undefined;
  const token = await resolveTarget(deps, target, "Which token do you want to rotate?");
  if (!token) return undefined;
  const ui = deps.ui();
  const grace = await ui.pickOne(GRACE_CHOICES, {
    title: `Rotate Token "${token.description}"`,
    placeHolder: `A new secret replaces ${token.hint}. When should the old secret stop working?`,
  });
  if (!grace) return undefined;

  // Found before the rotation: the old hint is what identifies entries stored without a token id.
  const uses = await tokenUses(deps, signedIn, token);
  let rotated;
  try {
    rotated = await signedIn.client.rotateToken(token.id, grace.minutes);
  } catch (error) {
    await ui.message("error", `Could not rotate the token: ${describeError(error)}`, {});
    return undefined;
  }
  const { token: secret, ...updatedToken } = rotated;
  const replaced = await replaceTokenEverywhere(deps, signedIn, token, uses, secret);
  deps.log(`rotated token ${token.id} (grace ${grace.minutes} min; ${usesCount(replaced)} git credential(s) updated)`);
  await deps.refreshTokens();

  const updated = describeUses(replaced);
  const oldSecret =
    grace.minutes === 0
      ? `The old secret ${token.hint} no longer works.`
      : `The old secret ${token.hint} works until ${formatDate(new Date(deps.now().getTime() + grace.minutes * 60_000).toISOString())}.`;
  const where = updated
    ? `git on this machine already uses the new secret: ${updated}.`
    : "No git credential on this machine used the old secret; update the places that do (CI, other machines).";
  await deps.clipboard.writeText(secret);
  const choice = await ui.message(
    "info",
    `Token "${token.description}" rotated; the new secret is on the clipboard. Copy it now: it will not be shown again.`,
    { modal: true, detail: `${secret}\n\n${oldSecret} ${where}`, closeLabel: CLOSE },
    COPY,
  );
  if (choice === COPY) await deps.clipboard.writeText(secret);
  return { token: updatedToken, updated };
}
