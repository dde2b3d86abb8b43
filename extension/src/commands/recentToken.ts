/**
 * The token created last in this window, kept in memory only (never stored, never logged) for ten
 * minutes, so Configure Git Remote run right after Create Token can offer it instead of asking for
 * a paste: the one-time dialog is gone by then.
 */
const KEEP_MS = 10 * 60_000;

let recent: { account: string; tokenId: number; secret: string; at: number } | undefined;

/** `account`: the server URL and user it was created for (an id means nothing on another server). */
export function rememberCreated(account: string, tokenId: number, secret: string, now: Date): void {
  recent = { account, tokenId, secret, at: now.getTime() };
}

export function recentlyCreated(account: string | undefined, now: Date): { tokenId: number; secret: string } | undefined {
  if (!recent || recent.account !== account) return undefined;
  if (now.getTime() - recent.at > KEEP_MS) {
    recent = undefined;
    return undefined;
  }
  return { tokenId: recent.tokenId, secret: recent.secret };
}

/** Forgotten once it went into a credential (or on sign-out). */
export function forgetRecent(): void {
  recent = undefined;
}
