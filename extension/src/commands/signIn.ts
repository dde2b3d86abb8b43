/**
 * Sign in: server URL, then username + password (exchanged for an API key) or a pasted API key,
 * checked with /me before anything is stored. Any failure leaves the previous state as it was.
 */
import os from "node:os";
import { ApiError, CaCertificateError, describeError, NotAClariveServerError, ServerUnreachableError } from "../api/errors";
import { parseServerUrl } from "../core/urls";
import { apiKeyProblem, passwordProblem, serverUrlProblem, usernameProblem } from "../core/validation";
import type { CommandDeps } from "./deps";
import { forgetRecent } from "./recentToken";

const TITLE = "Sign in to Clarive";

type Method = "password" | "apiKey";

const SIGN_IN_METHODS: readonly { label: string; detail: string; method: Method }[] = [
  { label: "Username and password", detail: "Exchanged for an API key; the password is not stored.", method: "password" },
  { label: "API key", detail: "Paste an existing API key (clapi_…).", method: "apiKey" },
];

function failureMessage(error: unknown, method: Method): string {
  if (error instanceof ApiError && error.unauthorized) {
    return method === "password"
      ? "Sign-in failed: wrong username or password (or the account is deactivated)."
      : "Sign-in failed: the server does not accept this API key (revoked, or for another server).";
  }
  if (error instanceof ApiError && error.status === 429) return `Sign-in refused: ${error.message}`;
  // Unreachable includes certificate failures, worded as a sentence (ServerCertificateError).
  if (error instanceof ServerUnreachableError || error instanceof NotAClariveServerError || error instanceof CaCertificateError)
    return error.message;
  return `Sign-in failed: ${describeError(error)}`;
}

export const RETRY = "Retry";

/** What a retry keeps from the attempt that failed: the URL and the username typed. */
interface Typed {
  serverUrl?: string;
  username?: string;
}

/** Shows why sign-in failed with Retry, which starts again with what was typed. */
async function failed(deps: CommandDeps, message: string, typed: Typed): Promise<boolean> {
  const answer = await deps.ui().message("error", message, {}, RETRY);
  return answer === RETRY ? signIn(deps, typed) : false;
}

export async function signIn(deps: CommandDeps, typed: Typed = {}): Promise<boolean> {
  const ui = deps.ui();
  const entered = await ui.input({
    title: `${TITLE} (1/3): server URL`,
    prompt: "The address of your Clarive server",
    placeHolder: "https://git.example.com",
    value: typed.serverUrl ?? deps.settings.serverUrl(),
    validate: serverUrlProblem,
  });
  if (entered === undefined) return false;
  const parsed = parseServerUrl(entered);
  if (!parsed.ok) return false;
  const serverUrl = parsed.url;

  const method = await ui.pickOne(SIGN_IN_METHODS, { title: `${TITLE} (2/3): how`, placeHolder: "How do you want to sign in?" });
  if (!method) return false;

  let apiKey: string;
  if (method.method === "password") {
    const username = await ui.input({
      title: `${TITLE} (3/3): username`,
      prompt: "Username",
      ...(typed.username !== undefined && { value: typed.username }),
      validate: usernameProblem,
    });
    if (username === undefined) return false;
    const password = await ui.input({
      title: `${TITLE} (3/3): password`,
      prompt: `Password of ${username.trim()}`,
      password: true,
      validate: passwordProblem,
    });
    if (password === undefined) return false;
    try {
      const login = await deps.session.clientFor(serverUrl).login(username.trim(), password, `VS Code on ${os.hostname()}`);
      apiKey = login.apiKey;
    } catch (error) {
      return failed(deps, failureMessage(error, "password"), { serverUrl, username: username.trim() });
    }
  } else {
    const pasted = await ui.input({
      title: `${TITLE} (3/3): API key`,
      prompt: "API key (clapi_…)",
      password: true,
      validate: apiKeyProblem,
    });
    if (pasted === undefined) return false;
    apiKey = pasted.trim();
  }

  try {
    const signedIn = await deps.session.establish(serverUrl, apiKey);
    await deps.settings.setServerUrl(serverUrl);
    deps.log(`signed in to ${serverUrl} as ${signedIn.user.username}`);
    await deps.refreshTokens();
    void ui.message(
      "info",
      `Signed in to ${serverUrl} as ${signedIn.user.username}${signedIn.user.isAdmin ? " (administrator)" : ""}.`,
      {},
    );
    return true;
  } catch (error) {
    // A key from the password exchange that /me refuses is useless: revoke it rather than leave it behind.
    if (method.method === "password")
      await deps.session
        .clientFor(serverUrl, apiKey)
        .logout()
        .catch(() => undefined);
    return failed(deps, failureMessage(error, method.method), { serverUrl });
  }
}

export async function signOut(deps: CommandDeps): Promise<void> {
  const signedIn = deps.session.signedIn;
  if (!signedIn && !deps.session.unreachable) {
    await deps.ui().message("info", "You are not signed in to Clarive.", {});
    return;
  }
  const serverUrl = signedIn?.serverUrl ?? deps.session.unreachable?.serverUrl ?? "";
  // git keeps pushing with stored tokens after a sign-out: the user decides, knowing which.
  const stored = serverUrl ? await deps.credentials.forServer(serverUrl) : [];
  let removeCredentials = false;
  if (stored.length > 0) {
    const names = stored.map((entry) => entry.repository).join(", ");
    const answer = await deps.ui().message(
      "warning",
      `Sign out of ${serverUrl}?`,
      {
        modal: true,
        detail: `${plural(stored.length, "git credential")} for this server ${stored.length === 1 ? "is" : "are"} stored in VS Code's secret storage (${names}). Kept, git keeps pushing with ${stored.length === 1 ? "it" : "them"} until the token expires; removed, git asks for a password again.`,
      },
      SIGN_OUT_REMOVE,
      SIGN_OUT_KEEP,
    );
    if (answer === undefined) return;
    removeCredentials = answer === SIGN_OUT_REMOVE;
  }
  const { revoked } = await deps.session.signOut();
  forgetRecent();
  if (removeCredentials) await deps.credentials.removeAll(stored);
  deps.log(`signed out${serverUrl ? ` of ${serverUrl}` : ""}${removeCredentials ? `; removed ${stored.length} git credential(s)` : ""}`);
  await deps.refreshTokens();
  const credentialsNote =
    stored.length === 0
      ? ""
      : removeCredentials
        ? ` ${plural(stored.length, "git credential")} removed.`
        : ` git still uses the stored ${plural(stored.length, "token")} (Remove Git Credentials forgets ${stored.length === 1 ? "it" : "them"}).`;
  void deps
    .ui()
    .message(
      "info",
      `${revoked ? "Signed out of Clarive; the API key was revoked." : "Signed out of Clarive (the server could not be told, the key was forgotten here)."}${credentialsNote}`,
      {},
    );
}

export const SIGN_OUT_REMOVE = "Sign Out and Remove Them";
export const SIGN_OUT_KEEP = "Sign Out, Keep Them";

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;
