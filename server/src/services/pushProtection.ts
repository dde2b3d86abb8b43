import type { Knex } from "knex";
import { isWellFormedPersonalAccessToken, secretHint } from "@clarive/shared";
import { sha256Hex } from "../lib/hash";
import { effectivePushProtection } from "../policies/patAccess";
import { deactivateTokens, findLiveTokensBySecretHash, findPushProtectionSwitches } from "../repositories/leakedTokens";
import { findUserByUsername } from "../repositories/users";
import { audit } from "./audit";

/** Who pushes what where: fixed when the push was authorised. */
export interface PushContext {
  project: string;
  repository: string;
  pusher: string;
  ip: string | null;
}

export interface LiveSecret {
  tokenId: number;
  /** The secret as found in the push (never logged or stored: only its hint is). */
  secret: string;
  hint: string;
}

export interface LeakFound extends LiveSecret {
  commit: string;
  path: string;
}

/** Whether a push to this repository is scanned (one query, once per push, before git runs). */
export async function isPushProtected(db: Knex, push: Pick<PushContext, "project" | "repository">): Promise<boolean> {
  const switches = await findPushProtectionSwitches(db, push.project, push.repository);
  return switches !== undefined && effectivePushProtection(switches.repository, switches.global);
}

/**
 * The strings among those a push carries that are live tokens of anyone — when push protection
 * is on for the repository; deactivated ones count (they can be reactivated). Look-alikes with a
 * wrong checksum cost no query; a well-formed string that opens nothing and never will again
 * (deleted, expired, made up for an example) is not a leak.
 */
export async function findLiveSecretsInPush(db: Knex, push: PushContext, candidates: string[], now: Date): Promise<LiveSecret[]> {
  const wellFormed = [...new Set(candidates.filter(isWellFormedPersonalAccessToken))];
  if (wellFormed.length === 0) return [];
  // Asked again: the switch may have been turned off while the push was under way.
  if (!(await isPushProtected(db, push))) return [];
  const byHash = new Map(wellFormed.map((secret) => [sha256Hex(secret), secret]));
  // A deactivated token counts: one push refused for it deactivates it, and the same commits
  // pushed again (or at the same moment) must not then land it in the repository, where it
  // would be live again the moment its owner reactivates it.
  const live = await findLiveTokensBySecretHash(db, [...byHash.keys()], now, { deactivatedToo: true });
  return live.flatMap((match) => {
    const secret = byHash.get(match.secret_hash);
    return secret ? [{ tokenId: match.id, secret, hint: secretHint(secret) }] : [];
  });
}

/**
 * Deactivates every token found in a refused push, with an audit event `token.leaked_in_push`
 * naming the repository, the pusher, the commit and the path, in one transaction.
 */
export async function recordLeakedTokens(db: Knex, push: PushContext, leaks: LeakFound[]): Promise<void> {
  await db.transaction(async (trx) => {
    const pusher = await findUserByUsername(trx, push.pusher);
    const actor = pusher ? { id: pusher.id, username: pusher.username } : { id: null, username: push.pusher };
    const deactivated = new Map((await deactivateTokens(trx, [...new Set(leaks.map((l) => l.tokenId))])).map((t) => [t.id, t.user_id]));
    for (const leak of leaks) {
      await audit(
        trx,
        actor,
        "token.leaked_in_push",
        `token:${leak.tokenId}`,
        { ip: push.ip },
        {
          repository: `${push.project}/${push.repository}`,
          pusher: push.pusher,
          commit: leak.commit,
          path: leak.path,
          hint: leak.hint,
          deactivated: deactivated.has(leak.tokenId),
        },
      );
    }
  });
}
