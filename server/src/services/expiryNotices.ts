import type { Knex } from "knex";
import { claimExpiryNotice, findTokenForNotice } from "../repositories/leakedTokens";

const DAY_MS = 24 * 60 * 60 * 1000;
/** A token that expires within this is mentioned inside git (DESIGN §5). */
export const EXPIRY_WARNING_DAYS = 7;
// Descriptions are the owner's own text: one line, printable, short enough for a terminal. Also
// out: bidirectional overrides and isolates (they reorder what the terminal shows, as in
// "Trojan Source") and invisible characters (zero-width, BOM).
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function inWords(ms: number): string {
  const hours = Math.max(1, Math.round(ms / (60 * 60 * 1000)));
  if (hours < 48) return hours === 1 ? "in 1 hour" : `in ${hours} hours`;
  return `in ${Math.round(hours / 24)} days`;
}

/**
 * The warning a push with this token shows, or null. A token made about as short as the
 * warning window on purpose (a CI job's one-week token, at most 8 days) is mentioned once a
 * day, not on every push; others on every push within the window. Costs no query for a token far from expiry.
 */
export async function expiryNoticeFor(db: Knex, token: { id: number; expiresAt: Date }, now: Date): Promise<string | null> {
  const left = token.expiresAt.getTime() - now.getTime();
  if (left > EXPIRY_WARNING_DAYS * DAY_MS || left <= 0) return null;
  const facts = await findTokenForNotice(db, token.id);
  if (!facts) return null;
  // Tokens live at least 7 days: one made (nearly) that short spends its whole life in the window.
  const shortOnPurpose = facts.lifetime_seconds !== null && facts.lifetime_seconds * 1000 <= (EXPIRY_WARNING_DAYS + 1) * DAY_MS;
  if (shortOnPurpose && !(await claimExpiryNotice(db, token.id, now, DAY_MS / 1000))) return null;
  const description = facts.description.replace(UNPRINTABLE, " ").slice(0, 80);
  const date = `${facts.expires_at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return [
    `warning: your token "${description}" expires on ${date} (${inWords(left)}).`,
    `warning: Rotate it before then: "Rotate Token" in the Clarive view in VS Code, or`,
    `warning: POST /api/v1/tokens/${token.id}/rotate; git keeps working with the new secret.`,
  ].join("\n");
}
