/**
 * The commands end to end against a real service (embedded PGlite), with a scripted UI, in-memory
 * secrets and clipboard and a fake git API: every prompt, every request, no editor.
 */
import assert from "node:assert/strict";
import type { CreatedTokenDto, TokenDto } from "@clarive/shared";
import { isWellFormedPersonalAccessToken } from "@clarive/shared";
import { setRepositoryPatAccess, toggleGlobalPatAuth } from "../../../extension/src/commands/admin";
import { configureGitRemote, removeGitCredentials, EMBED_CONFIRM } from "../../../extension/src/commands/configureRemote";
import { COPY, createToken } from "../../../extension/src/commands/createToken";
import { signIn, signOut } from "../../../extension/src/commands/signIn";
import { editToken, removeToken, REMOVE, setTokenActive } from "../../../extension/src/commands/tokenActions";
import { SESSION_SECRET_KEY } from "../../../extension/src/session";
import { CREATE_REPLACEMENT, ExpiryNotifier, type ExpiryNotifierDeps } from "../../../extension/src/expiryNotifier";
import { createRepository, createUser, loginAdmin, setPatAuth, type Client } from "../../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../support/testServer";
import { FakeRepository, testDeps, type TestDeps } from "../support/commandDeps";

describe("extension commands against a real service", function () {
  let server: TestServer;
  let admin: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await createRepository(admin, "acme", "widgets");
    await createRepository(admin, "acme", "gears");
    await setPatAuth(admin, true);
    await admin.patch("/repositories/acme/gears", { patAccess: "false" });
    await createUser(admin, server, "dev");
  });
  after(async () => server?.close());

  async function signedIn(username = "admin", password = ADMIN_PASSWORD): Promise<TestDeps> {
    const t = testDeps();
    t.ui.answer({ input: server.url }, { pick: "Username and password" }, { input: username }, { input: password });
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
    return t;
  }

  describe("sign in and out", () => {
    it("exchanges username and password for an API key kept only in secrets, and sets the context keys", async () => {
      const t = await signedIn();
      const stored = JSON.parse(t.secrets.values.get(SESSION_SECRET_KEY) ?? "{}") as { serverUrl: string; apiKey: string };
      assert.equal(stored.serverUrl, server.url);
      assert.match(stored.apiKey, /^clapi_/);
      assert.equal(t.settings.serverUrl, server.url, "the URL (never the key) goes to settings");
      assert.equal(t.contextKeys.get("clarive.signedIn"), true);
      assert.equal(t.contextKeys.get("clarive.isAdmin"), true);
      assert.ok(!t.logLines.join("\n").includes(stored.apiKey), "the key is never logged");
      assert.ok(t.ui.messages("info").some((m) => m.includes("Signed in to") && m.includes("as admin (administrator)")));
    });

    it("accepts a pasted API key, checked with /me", async () => {
      const t = testDeps();
      t.ui.answer({ input: server.url }, { pick: "API key" }, { input: admin.apiKey ?? "" });
      assert.equal(await signIn(t.deps), true);
      assert.equal(t.deps.session.signedIn?.user.username, "admin");
    });

    it("says so on a wrong password, a revoked key or an unreachable server, and stores nothing", async () => {
      const cases: Array<[string, Parameters<TestDeps["ui"]["answer"]>, RegExp]> = [
        [
          "bad password",
          [{ input: server.url }, { pick: "Username and password" }, { input: "admin" }, { input: "wrong-password" }],
          /wrong username or password/,
        ],
        ["bad key", [{ input: server.url }, { pick: "API key" }, { input: "clapi_" + "x".repeat(36) }], /does not accept this API key/],
        [
          "down",
          [{ input: "http://127.0.0.1:9" }, { pick: "Username and password" }, { input: "admin" }, { input: "pw" }],
          /Cannot reach the Clarive server at http:\/\/127\.0\.0\.1:9/,
        ],
      ];
      for (const [name, answers, expected] of cases) {
        const t = testDeps();
        t.ui.answer(...answers);
        assert.equal(await signIn(t.deps), false, name);
        t.ui.assertDone();
        assert.match(t.ui.messages("error").join("\n"), expected, name);
        assert.equal(t.secrets.values.size, 0, `${name}: no half state`);
        assert.equal(t.deps.session.signedIn, undefined);
      }
    });

    it("keeps the key when the server is unreachable at start, and completes the sign-in once it answers", async () => {
      const t = testDeps();
      await t.secrets.store(SESSION_SECRET_KEY, JSON.stringify({ serverUrl: "http://127.0.0.1:9", apiKey: admin.apiKey }));
      assert.equal(await t.deps.session.restore(), "unreachable");
      assert.ok(t.secrets.values.has(SESSION_SECRET_KEY), "not forgotten for a network error");
      assert.equal(await t.deps.session.retryUnreachable(), false);
      await t.secrets.store(SESSION_SECRET_KEY, JSON.stringify({ serverUrl: server.url, apiKey: admin.apiKey }));
      assert.equal(await t.deps.session.retryUnreachable(), true);
      assert.equal(t.deps.session.signedIn?.user.username, "admin");
      assert.equal(t.deps.session.unreachable, undefined);
    });

    it("forgets an expired key at start and signs out revoking the key", async () => {
      const t = await signedIn();
      const key = (JSON.parse(t.secrets.values.get(SESSION_SECRET_KEY) ?? "{}") as { apiKey: string }).apiKey;
      await signOut(t.deps);
      assert.equal(t.secrets.values.has(SESSION_SECRET_KEY), false);
      assert.equal(t.contextKeys.get("clarive.signedIn"), false);
      assert.equal((await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status, 401, "revoked");
      // The same key restored later is refused: forgotten, with "expired".
      await t.secrets.store(SESSION_SECRET_KEY, JSON.stringify({ serverUrl: server.url, apiKey: key }));
      assert.equal(await t.deps.session.restore(), "expired");
      assert.equal(t.secrets.values.has(SESSION_SECRET_KEY), false);
    });
  });

  describe("tokens", () => {
    it("creates a token through the four steps, copies it, shows it once in a modal with Copy", async () => {
      const t = await signedIn();
      t.ui.answer(
        { input: "build laptop" },
        { pick: "90 days" },
        { pick: "Selected repositories…" },
        { pickMany: ["acme/widgets"] },
        { pick: "Read-only" },
        { message: COPY },
      );
      const created = await createToken(t.deps);
      t.ui.assertDone();
      assert.ok(created);
      assert.equal(created.secret, undefined, "the secret is not handed back to callers");
      assert.equal(t.clipboard.length, 2, "copied at once, and again on Copy");
      const secret = t.clipboard[0] ?? "";
      assert.ok(isWellFormedPersonalAccessToken(secret));
      const modal = t.ui.prompts.find((p) => p.kind === "message" && p.modal);
      assert.equal(modal?.detail, secret, "shown once in the modal");
      assert.deepEqual(modal?.actions, ["Copy", "Use for this workspace's git remote"]);
      assert.equal(created.token.permission, "read");
      assert.deepEqual(created.token.repositories, ["acme/widgets"]);
      assert.ok(!t.logLines.join("\n").includes(secret), "never logged");
      assert.ok(![...t.secrets.values.values()].some((v) => v.includes(secret)), "never stored");
      assert.ok(
        t.deps.cachedTokens().some((token) => token.id === created.token.id),
        "in the tree at once",
      );
    });

    it("takes a date, refuses dates out of range in the form, and warns when PAT auth is off", async () => {
      const t = await signedIn();
      const inAMonth = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
      t.ui.answer(
        { input: "gears job" },
        { pick: "A date…" },
        { input: inAMonth },
        { pick: "Selected repositories…" },
        { pickMany: ["acme/gears"] },
        { pick: "Read & write" },
        { message: undefined },
      );
      assert.equal(await createToken(t.deps), undefined, "cancelled at the PAT-off warning");
      t.ui.assertDone();
      const warning = t.ui.prompts.find((p) => p.kind === "message" && p.messageKind === "warning" && p.modal);
      assert.match(warning?.text ?? "", /turned off for acme\/gears/);

      const tooSoon = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
      const t2 = await signedIn();
      t2.ui.answer({ input: "x" }, { pick: "A date…" }, { input: tooSoon });
      assert.equal(await createToken(t2.deps), undefined);
      assert.match(t2.ui.problems.join(), /between 7 and 730 days/);
    });

    it("edits pre-filled, deactivates, activates and removes after a modal confirmation", async () => {
      const t = await signedIn();
      // "All repositories" includes acme/gears, where tokens are refused: a warning, then the secret modal.
      t.ui.answer(
        { input: "ci" },
        { pick: "30 days" },
        { pick: "All repositories" },
        { pick: "Read & write" },
        { message: "Continue Anyway" },
        { message: undefined },
      );
      const created = await createToken(t.deps);
      assert.ok(created);
      const token: TokenDto = created.token;

      t.ui.answer({ input: "ci runner" }, { pick: "Selected repositories…" }, { pickMany: ["acme/widgets"] }, { pick: "Read-only" });
      const edited = await editToken(t.deps, { token });
      t.ui.assertDone();
      const editPrompts = t.ui.prompts.filter((p) => p.kind !== "message").slice(-4);
      assert.equal(editPrompts[0]?.value, "ci", "description pre-filled");
      assert.deepEqual(editPrompts[1]?.labels?.[0], "All repositories", "current scope first");
      assert.equal(editPrompts[3]?.labels?.[0], "Read & write", "current permission first");
      assert.equal(edited?.description, "ci runner");
      assert.deepEqual(edited?.repositories, ["acme/widgets"]);
      assert.equal(edited?.permission, "read");

      assert.equal((await setTokenActive(t.deps, { token }, false))?.active, false);
      assert.equal(t.deps.cachedTokens().find((x) => x.id === token.id)?.active, false);
      const activated = await setTokenActive(t.deps, token, true);
      assert.deepEqual(t.ui.messages("error"), []);
      assert.equal(activated?.active, true);

      t.ui.answer({ message: undefined });
      assert.equal(await removeToken(t.deps, { token }), false, "dismissing the modal keeps the token");
      t.ui.answer({ message: REMOVE });
      assert.equal(await removeToken(t.deps, { token }), true);
      assert.ok(!t.deps.cachedTokens().some((x) => x.id === token.id));
      t.ui.assertDone();
    });
  });

  describe("configure git remote", () => {
    it("points the remote at the clean URL, pre-selects the current repository and keeps the token in secrets", async () => {
      const t = await signedIn();
      const repo = new FakeRepository("/work/widgets");
      repo.addRemoteUrls("origin", [`${server.url}/git/acme/widgets`]);
      t.repositories.push(repo);
      t.ui.answer(
        { pick: "origin" },
        { pick: "acme/widgets" },
        { pick: "Create a new token for acme/widgets" },
        // The Create Token form, pre-filled for this repository.
        { input: "acme/widgets from VS Code" },
        { pick: "30 days" },
        { pick: "Selected repositories…" },
        { pickMany: ["acme/widgets"] },
        { pick: "Read & write" },
        { pick: "VS Code secret storage (recommended)" },
      );
      const configured = await configureGitRemote(t.deps);
      t.ui.assertDone();
      const pick = t.ui.prompts.find((p) => p.kind === "pick" && p.labels?.includes("acme/gears"));
      assert.equal(pick?.labels?.[0], "acme/widgets", "the current remote's repository comes first");
      assert.equal(configured?.url, `${server.url}/git/acme/widgets.git`);
      assert.equal(repo.remotes[0]?.fetchUrl, `${server.url}/git/acme/widgets.git`);
      assert.equal(repo.value(`credential.${server.url}.useHttpPath`), "true");
      assert.ok(![...repo.config.values()].flat().some((v) => v.includes("clapat_")), "no token in git config");
      const answer = await t.deps.credentials.lookup(`${server.url}/git/acme/widgets.git`);
      assert.equal(answer?.username, "admin");
      assert.ok(answer && isWellFormedPersonalAccessToken(answer.password));
      assert.equal(t.clipboard.length, 0, "a token made for the remote is not copied");

      t.ui.answer({ pickMany: ["acme/widgets"] });
      assert.equal(await removeGitCredentials(t.deps), 1);
      assert.equal(await t.deps.credentials.lookup(`${server.url}/git/acme/widgets.git`), undefined);
    });

    it("uses a new token for the workspace remote when picked in the Create Token dialog", async () => {
      const t = await signedIn();
      const repo = new FakeRepository("/work/fresh");
      t.repositories.push(repo);
      t.ui.answer(
        { input: "for the remote" },
        { pick: "30 days" },
        { pick: "Selected repositories…" },
        { pickMany: ["acme/widgets"] },
        { pick: "Read & write" },
        { message: "Use for this workspace's git remote" },
        // Configure Git Remote, with the token's single repository first and no token question.
        { pick: "acme/widgets" },
        { pick: "VS Code secret storage (recommended)" },
      );
      await createToken(t.deps);
      t.ui.assertDone();
      const secret = t.clipboard[0];
      assert.equal(repo.remotes[0]?.fetchUrl, `${server.url}/git/acme/widgets.git`);
      assert.deepEqual(await t.deps.credentials.lookup(`${server.url}/git/acme/widgets.git`), { username: "admin", password: secret });
    });

    it("embeds the token in the URL only after a warning, and Remove Git Credentials strips it", async () => {
      const t = await signedIn();
      const repo = new FakeRepository("/work/new");
      t.repositories.push(repo);
      const token: CreatedTokenDto = (
        await admin.post<CreatedTokenDto>("/tokens", { description: "pasted", expiresInDays: 30, permission: "read" })
      ).body;
      t.ui.answer(
        { pick: "acme/widgets" },
        { pick: "Paste an existing token" },
        { input: token.token },
        { pick: "Embed the token in the remote URL" },
        { message: undefined },
      );
      assert.equal(await configureGitRemote(t.deps), undefined, "declining the warning changes nothing");
      assert.equal(repo.remotes.length, 0);

      t.ui.answer(
        { pick: "acme/widgets" },
        { pick: "Paste an existing token" },
        { input: token.token },
        { pick: "Embed the token in the remote URL" },
        { message: EMBED_CONFIRM },
      );
      const configured = await configureGitRemote(t.deps);
      t.ui.assertDone();
      assert.equal(configured?.embedded, true);
      assert.equal(repo.remotes[0]?.name, "origin");
      assert.equal(repo.remotes[0]?.fetchUrl, `http://admin:${token.token}@${new URL(server.url).host}/git/acme/widgets.git`);

      t.ui.answer({ pickMany: ["new: origin"] });
      assert.equal(await removeGitCredentials(t.deps), 1);
      assert.equal(repo.remotes[0]?.fetchUrl, `${server.url}/git/acme/widgets.git`);
    });
  });

  describe("admin commands and expiry", () => {
    it("turns global PAT auth off and on, and sets a repository's pat_access", async () => {
      const t = await signedIn();
      t.ui.answer({ message: "Turn Off" });
      assert.equal((await toggleGlobalPatAuth(t.deps))?.patAuthEnabled, false);
      t.ui.answer({ message: "Turn On" });
      assert.equal((await toggleGlobalPatAuth(t.deps))?.patAuthEnabled, true);
      t.ui.answer({ pick: "acme/gears" }, { pick: "Allow personal access tokens" });
      const updated = await setRepositoryPatAccess(t.deps);
      assert.equal(updated?.patAccess, "true");
      await admin.patch("/repositories/acme/gears", { patAccess: "false" });
      t.ui.assertDone();
    });

    it("refuses admin commands to other users", async () => {
      const t = await signedIn("dev", "dev-password");
      assert.equal(t.contextKeys.get("clarive.isAdmin"), false);
      assert.equal(await toggleGlobalPatAuth(t.deps), undefined);
      assert.match(t.ui.messages("warning").join(), /Only Clarive administrators/);
    });

    it("warns once about a token expiring within the warning days, pre-fills a replacement, and never about one made that short", async () => {
      await createUser(admin, server, "notified");
      const t = await signedIn("notified", "notified-password");
      const form = (description: string, expiry: string) => [
        { input: description },
        { pick: expiry },
        // A new user reaches no repository yet: "All repositories" is the only scope offered.
        { pick: "All repositories" },
        { pick: "Read-only" },
        { message: undefined },
      ];
      t.ui.answer(...form("expiring soon", "30 days"), ...form("short on purpose", "7 days (1 week)"));
      assert.ok(await createToken(t.deps));
      assert.ok(await createToken(t.deps));
      const replacements: unknown[] = [];
      const state = new Map<string, unknown>();
      const notifierDeps: ExpiryNotifierDeps = {
        ui: () => t.ui,
        loadTokens: async () => t.deps.session.signedIn?.client.tokens(),
        warningDays: () => 7,
        createReplacement: async (prefill) => void replacements.push(prefill),
        // 25 days on: the 30-day token has 5 left; the 7-day one has expired.
        now: () => new Date(Date.now() + 25 * 86_400_000),
        state: { get: <T>(key: string) => state.get(key) as T | undefined, update: async (key, value) => void state.set(key, value) },
      };
      const notifier = new ExpiryNotifier(notifierDeps);
      t.ui.answer({ message: CREATE_REPLACEMENT });
      const warned = await notifier.check();
      assert.deepEqual(
        warned.map((w) => w.description),
        ["expiring soon"],
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(replacements, [{ description: "expiring soon", repositories: [], permission: "read" }]);
      assert.match(t.ui.messages("warning").join(), /"expiring soon" expires in 5 days/);
      assert.deepEqual(await notifier.check(), [], "once: not again at the next start or day");

      // A 7-day token is in its warning window from the start: no notification for it, ever.
      const shortNotifier = new ExpiryNotifier({ ...notifierDeps, now: () => new Date(Date.now() + 2 * 86_400_000) });
      state.clear();
      assert.deepEqual(
        (await shortNotifier.check()).map((w) => w.description),
        [],
      );
      t.ui.assertDone();
    });
  });
});
