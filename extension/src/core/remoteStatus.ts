/**
 * The status bar's view of the workspace repository's remote, as plain data: which token git uses
 * there, how long it lasts, and the fix to offer when it does not work (or soon will not).
 */
import { secretHint, type TokenDto } from "@clarive/shared";
import { expiryState, formatDate, relativeExpiry } from "./expiry";
import { embeddedTokenOf, repositoryFromRemoteUrl } from "./urls";

export type RemoteFix = "rotate" | "configure" | "activate" | "signIn";

export interface RemoteStatus {
  /** With a codicon, e.g. "$(key) laptop · 30 days". */
  text: string;
  tooltip: string;
  severity: "ok" | "warning" | "error";
  /** The fixes offered on click, the most useful first. */
  fixes: RemoteFix[];
  token?: TokenDto;
}

export interface RemoteStatusInput {
  /** The remote git pushes to (upstream, else origin, else the first one on this server). */
  remote: { name: string; url: string } | undefined;
  /** The signed-in server, or undefined when signed out. */
  serverUrl: string | undefined;
  /** The secret a stored credential gives git for the remote's URL, and its token id if recorded. */
  stored: { secret: string; tokenId?: number } | undefined;
  tokens: readonly TokenDto[];
  warningDays: number;
  now: Date;
}

const DAY_MS = 86_400_000;

/** Undefined when there is nothing to show: no remote on the signed-in server. */
export function remoteStatus(input: RemoteStatusInput): RemoteStatus | undefined {
  const { remote, serverUrl, stored, tokens, now } = input;
  if (!remote) return undefined;
  if (!serverUrl) {
    if (!stored && !embeddedTokenOf(remote.url)) return undefined;
    return {
      text: "$(key) Clarive: signed out",
      tooltip: `git uses a stored token for "${remote.name}". Sign in to Clarive to see which, and when it expires.`,
      severity: "ok",
      fixes: ["signIn"],
    };
  }
  const repository = repositoryFromRemoteUrl(remote.url, serverUrl);
  if (!repository) return undefined;
  const embedded = embeddedTokenOf(remote.url);
  const secret = embedded ?? stored?.secret;
  const where = embedded ? "embedded in the remote URL" : "from VS Code's secret storage";
  if (!secret) {
    return {
      text: "$(warning) Clarive: no token",
      tooltip: `git has no token for "${remote.name}" (${repository}): it will ask for a password. Configure Git Remote to give it one.`,
      severity: "warning",
      fixes: ["configure"],
    };
  }
  const token =
    !embedded && stored?.tokenId !== undefined
      ? tokens.find((candidate) => candidate.id === stored.tokenId)
      : tokens.find((candidate) => candidate.hint === secretHint(secret));
  if (!token) {
    return {
      text: "$(error) Clarive: token removed",
      tooltip: `git uses ${secretHint(secret)} for "${remote.name}" (${repository}), ${where}, but that token no longer exists: git will be refused. Configure Git Remote with another token.`,
      severity: "error",
      fixes: ["configure"],
    };
  }
  const head = `git uses "${token.description}" (${token.hint}) for "${remote.name}" (${repository}), ${where}.`;
  const expiry = `Expires ${formatDate(token.expiresAt)} (${relativeExpiry(token.expiresAt, now)}).`;
  const state = expiryState(token, input.warningDays, now);
  if (state === "expired") {
    return {
      text: `$(error) ${token.description}: expired`,
      tooltip: `${head} It has expired: git is refused. Rotate it for a new expiry date.`,
      severity: "error",
      fixes: ["rotate", "configure"],
      token,
    };
  }
  if (!token.active) {
    return {
      text: `$(error) ${token.description}: inactive`,
      tooltip: `${head} It is deactivated: git is refused. ${expiry}`,
      severity: "error",
      fixes: ["activate", "configure"],
      token,
    };
  }
  const days = Math.max(0, Math.floor((Date.parse(token.expiresAt) - now.getTime()) / DAY_MS));
  const left = days === 0 ? "< 1 day" : `${days} day${days === 1 ? "" : "s"}`;
  if (state === "warning" || token.reuseDetectedAt) {
    const why = token.reuseDetectedAt
      ? " An old secret of it was used after its rotation: rotate it again."
      : " Rotate it to keep git working.";
    return {
      text: `$(warning) ${token.description} · ${left}`,
      tooltip: `${head} ${expiry}${why}`,
      severity: "warning",
      fixes: ["rotate", "configure"],
      token,
    };
  }
  return {
    text: `$(key) ${token.description} · ${left}`,
    tooltip: `${head} ${expiry}`,
    severity: "ok",
    fixes: ["rotate", "configure"],
    token,
  };
}

/** Upstream of HEAD, else "origin", else the first remote: the one `git push` uses. */
export function pushRemote<R extends { name: string }>(remotes: readonly R[], upstream: string | undefined): R | undefined {
  return remotes.find((remote) => remote.name === upstream) ?? remotes.find((remote) => remote.name === "origin") ?? remotes[0];
}
