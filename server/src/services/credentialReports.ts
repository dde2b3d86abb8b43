import type { Knex } from "knex";
import { findPersonalAccessTokens } from "@clarive/shared";
import { TooManyRequestsError } from "../errors";
import { sha256Hex } from "../lib/hash";
import { findThrottles, recordAuthFailure } from "../repositories/gitAuth";
import { deactivateTokens, findLiveTokensBySecretHash } from "../repositories/leakedTokens";
import { audit } from "./audit";
import type { RequestMeta } from "./types";

export interface ReportPolicy {
  maxReports: number;
  windowSeconds: number;
  cooldownSeconds: number;
}

/** Generous for a person or a scanner batching 100 strings a report; a flood is slowed down. */
export const DEFAULT_REPORT_POLICY: ReportPolicy = { maxReports: 30, windowSeconds: 300, cooldownSeconds: 300 };

/**
 * Someone found strings that may be our tokens (pasted in an issue, committed to a public
 * repository): every live token among them is deactivated at once, with an audit event naming
 * the reporter's address. The caller learns nothing either way. Reports are counted per client
 * address in the shared throttle table, so every instance applies the same limit.
 */
export async function revokeReportedCredentials(
  db: Knex,
  credentials: string[],
  meta: RequestMeta,
  policy: ReportPolicy = DEFAULT_REPORT_POLICY,
): Promise<void> {
  const key = `report:${meta.ip ?? "unknown"}`;
  const [state] = await findThrottles(db, [key]);
  const blockedUntil = state?.blocked_until?.getTime() ?? 0;
  if (blockedUntil > Date.now()) {
    throw new TooManyRequestsError("Too many reports from this address; try again later", Math.ceil((blockedUntil - Date.now()) / 1000));
  }
  const hashes = [...new Set(credentials.flatMap(findPersonalAccessTokens))].map(sha256Hex);
  await db.transaction(async (trx) => {
    await recordAuthFailure(trx, key, policy.maxReports, policy.windowSeconds, policy.cooldownSeconds);
    // A secret rotated out but still inside its grace window opens its token too.
    const live = await findLiveTokensBySecretHash(trx, hashes, new Date());
    for (const token of await deactivateTokens(trx, [...new Set(live.map((t) => t.id))])) {
      await audit(trx, null, "token.revoked_by_report", `token:${token.id}`, meta, { ownerId: token.user_id });
    }
  });
}
