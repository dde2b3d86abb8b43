/**
 * Several Clarive accounts, one active per window, against a real service: sign in twice (two
 * users), switch between them, restore each window's own account, and sign out one that is not
 * the active one (its key revoked, the other untouched).
 */
import assert from "node:assert/strict";
import { signOutAccount, switchAccount } from "../../../extension/src/commands/accounts";
import { signIn } from "../../../extension/src/commands/signIn";
import { ACTIVE_ACCOUNT_STATE_KEY, Session } from "../../../extension/src/session";
import type { KeyValueStore } from "../../../extension/src/ui/stores";
import { createUser, loginAdmin } from "../../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../support/testServer";
import { testDeps } from "../support/commandDeps";

function memoryState(): KeyValueStore & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return { values, get: <T>(key: string) => values.get(key) as T | undefined, update: async (key, value) => void values.set(key, value) };
}

describe("several accounts, one active per window (extension against a real service)", function () {
  // Starting the service (migrations on PGlite) is slow on a busy machine.
  this.timeout(120_000);
  let server: TestServer;
  let host: string;

  before(async () => {
    server = await startTestServer();
    host = new URL(server.url).host;
    await createUser(await loginAdmin(server), server, "dana");
  });
  after(async () => server?.close());

  it("keeps both accounts, switches between them, and signs out the inactive one by revoking its key", async () => {
    const window = memoryState();
    const t = testDeps({ windowState: window });
    t.ui.answer({ input: server.url }, { pick: "Username and password" }, { input: "admin" }, { input: ADMIN_PASSWORD });
    assert.equal(await signIn(t.deps), true);
    t.ui.answer({ input: server.url }, { pick: "Username and password" }, { input: "dana" }, { input: "dana-password" });
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
    assert.equal(t.deps.session.signedIn?.user.username, "dana", "the last sign-in is active");
    assert.deepEqual(
      (await t.deps.session.accounts()).map((account) => account.username),
      ["admin", "dana"],
    );

    t.ui.answer({ pick: `admin @ ${host}` });
    assert.equal(await switchAccount(t.deps), true);
    t.ui.assertDone();
    const pick = t.ui.prompts.find((p) => p.title === "Clarive: Switch Account");
    assert.deepEqual(pick?.labels, [`admin @ ${host}`, `dana @ ${host}`, "Sign in to another account…"]);
    assert.equal(t.deps.session.signedIn?.user.username, "admin");
    assert.equal(t.contextKeys.get("clarive.isAdmin"), true);
    assert.equal(window.values.get(ACTIVE_ACCOUNT_STATE_KEY), `${server.url}|admin`);

    // Another window that last used dana restores dana; this one restores admin.
    const other = memoryState();
    other.values.set(ACTIVE_ACCOUNT_STATE_KEY, `${server.url}|dana`);
    const otherSession = new Session(t.secrets, async () => undefined, {}, other);
    assert.equal(await otherSession.restore(), "signed-in");
    assert.equal(otherSession.signedIn?.user.username, "dana");
    const sameWindow = new Session(t.secrets, async () => undefined, {}, window);
    assert.equal(await sameWindow.restore(), "signed-in");
    assert.equal(sameWindow.signedIn?.user.username, "admin");

    const danaKey = (await t.deps.session.accounts()).find((account) => account.username === "dana")?.apiKey;
    await signOutAccount(t.deps, `${server.url}|dana`);
    assert.equal((await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${danaKey}` } })).status, 401, "revoked");
    assert.deepEqual(
      (await t.deps.session.accounts()).map((account) => account.username),
      ["admin"],
    );
    assert.equal(t.deps.session.signedIn?.user.username, "admin", "the active account is untouched");
  });
});
