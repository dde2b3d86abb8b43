/**
 * Git credentials follow the token's and the session's life, and the small wordings around them,
 * against a real service (embedded PGlite) with a scripted UI and a fake git API.
 */
import assert from "node:assert/strict";
import net, { type AddressInfo } from "node:net";
import type { CreatedTokenDto } from "@clarive/shared";
import { configureGitRemote } from "../../../extension/src/commands/configureRemote";
import { RETRY, SIGN_OUT_KEEP, SIGN_OUT_REMOVE, signIn, signOut } from "../../../extension/src/commands/signIn";
import { editToken, REMOVE, removeToken, setTokenActive } from "../../../extension/src/commands/tokenActions";
import { createRepository, loginAdmin, setPatAuth, type Client } from "../../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../support/testServer";
import { FakeRepository, testDeps, type TestDeps } from "../support/commandDeps";

describe("credentials follow the token's life (extension commands against a real service)", function () {
  // Starting the service (migrations on PGlite) is slow on a busy machine.
  this.timeout(120_000);
  let server: TestServer;
  let admin: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await createRepository(admin, "acme", "widgets");
    await createRepository(admin, "acme", "gears");
    await setPatAuth(admin, true);
  });
  after(async () => server?.close());

  async function signedIn(t: TestDeps = testDeps()): Promise<TestDeps> {
    t.ui.answer({ input: server.url }, { pick: "Username and password" }, { input: "admin" }, { input: ADMIN_PASSWORD });
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
    return t;
  }

  const newToken = async (description: string): Promise<CreatedTokenDto> =>
    (await admin.post<CreatedTokenDto>("/tokens", { description, expiresInDays: 30, permission: "read-write" })).body;
  const urlOf = (name: string) => `${server.url}/git/acme/${name}.git`;

  /** Configures a fresh fake repository's origin with this token, in secret storage. */
  async function storedFor(t: TestDeps, name: string, secret: string): Promise<FakeRepository> {
    const repo = new FakeRepository(`/work/${name}`);
    t.repositories.splice(0, t.repositories.length, repo);
    t.ui.answer(
      { pick: `acme/${name}` },
      { pick: "Paste an existing token" },
      { input: secret },
      { pick: "VS Code secret storage (recommended)" },
    );
    assert.ok(await configureGitRemote(t.deps));
    t.ui.assertDone();
    return repo;
  }

  it("Sign Out asks about the git credentials stored for the server: dismissed stays signed in, Keep keeps, Remove removes", async () => {
    const t = await signedIn();
    const token = await newToken("signed-out laptop");
    await storedFor(t, "widgets", token.token);

    t.ui.answer({ message: undefined });
    await signOut(t.deps);
    const modal = t.ui.prompts.at(-1);
    assert.equal(modal?.text, `Sign out of ${server.url}?`);
    assert.deepEqual(modal?.actions, [SIGN_OUT_REMOVE, SIGN_OUT_KEEP]);
    assert.match(modal?.detail ?? "", /^1 git credential for this server is stored in VS Code's secret storage \(acme\/widgets\)/);
    assert.ok(t.deps.session.signedIn, "dismissed: still signed in");

    t.ui.answer({ message: SIGN_OUT_KEEP });
    await signOut(t.deps);
    assert.equal(t.deps.session.signedIn, undefined);
    assert.ok(await t.deps.credentials.lookup(urlOf("widgets")), "kept");
    assert.match(t.ui.messages("info").at(-1) ?? "", /git still uses the stored 1 token/);

    await signedIn(t);
    t.ui.answer({ message: SIGN_OUT_REMOVE });
    await signOut(t.deps);
    t.ui.assertDone();
    assert.equal(await t.deps.credentials.lookup(urlOf("widgets")), undefined, "removed");
    assert.match(t.ui.messages("info").at(-1) ?? "", /1 git credential removed\./);
  });

  it("removing a token removes its stored credentials and strips it from remote URLs, naming them; others stay", async () => {
    const t = await signedIn();
    const doomed = await newToken("doomed");
    const other = await newToken("other");
    await storedFor(t, "widgets", doomed.token);
    const gears = new FakeRepository("/work/gears");
    gears.addRemoteUrls("origin", [`http://admin:${doomed.token}@${new URL(server.url).host}/git/acme/gears.git`]);
    const keep = await t.deps.credentials.set(urlOf("gears"), "admin", other.token, "acme/gears", other.id);
    t.repositories.push(gears);
    await t.deps.refreshTokens();
    const listed = t.deps.cachedTokens().find((token) => token.id === doomed.id);
    assert.ok(listed);

    t.ui.answer({ message: REMOVE });
    assert.equal(await removeToken(t.deps, listed), true);
    t.ui.assertDone();
    const confirm = t.ui.prompts.find((p) => p.modal && p.text.startsWith('Remove the token "doomed"'));
    assert.match(confirm?.detail ?? "", /removed too: acme\/widgets \(secret storage\) and gears: origin \(\.git\/config\)\./);
    assert.equal(await t.deps.credentials.lookup(urlOf("widgets")), undefined);
    assert.deepEqual(gears.config.get("remote.origin.url"), [urlOf("gears")], "the dead token left the URL");
    assert.deepEqual(
      await t.deps.credentials.lookup(urlOf("gears")),
      { username: "admin", password: keep.token },
      "another token's credential stays",
    );
    assert.match(t.ui.messages("info").at(-1) ?? "", /^Token "doomed" removed\. Its git credentials were removed too: acme\/widgets/);
  });

  it("deactivating says where git is now refused, and Edit says what changed", async () => {
    const t = await signedIn();
    const token = await newToken("paused");
    await storedFor(t, "widgets", token.token);
    await t.deps.refreshTokens();
    const listed = t.deps.cachedTokens().find((x) => x.id === token.id);
    assert.ok(listed);
    await setTokenActive(t.deps, listed, false);
    assert.equal(
      t.ui.messages("info").at(-1),
      'Token "paused" deactivated. git is refused where it uses it: acme/widgets (secret storage).',
    );
    assert.ok(await t.deps.credentials.lookup(urlOf("widgets")), "kept for when it is activated again");
    await setTokenActive(t.deps, listed, true);
    assert.match(t.ui.messages("info").at(-1) ?? "", /^Token "paused" activated\. git can use it again: acme\/widgets/);

    t.ui.answer({ input: "paused laptop" }, { pick: "Selected repositories…" }, { pickMany: ["acme/gears"] }, { pick: "Read-only" });
    await editToken(t.deps, listed);
    t.ui.assertDone();
    assert.equal(
      t.ui.messages("info").at(-1),
      'Token "paused" changed: description "paused laptop", repositories acme/gears, permission read-only.',
    );
    const titles = t.ui.prompts.slice(-5, -1).map((p) => p.title);
    assert.deepEqual(titles, [
      'Edit Token "paused" (1/3): description',
      'Edit Token "paused" (2/3): repositories',
      'Edit Token "paused" (2/3): repositories',
      'Edit Token "paused" (3/3): permission',
    ]);
  });

  it("a failed sign-in offers Retry, which keeps the URL and the username typed", async () => {
    const t = testDeps();
    t.ui.answer(
      { input: server.url },
      { pick: "Username and password" },
      { input: "admin" },
      { input: "not-the-password" },
      { message: RETRY },
      { input: server.url },
      { pick: "Username and password" },
      { input: "admin" },
      { input: ADMIN_PASSWORD },
    );
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
    const inputs = t.ui.prompts.filter((p) => p.kind === "input");
    assert.equal(inputs[3]?.value, server.url, "the URL typed, not the setting (empty here)");
    assert.equal(inputs[3]?.title, "Sign in to Clarive (1/3): server URL");
    assert.equal(inputs[4]?.value, "admin", "the username typed");
  });

  it("words a refused connection as a sentence, not ECONNREFUSED", async () => {
    // A port that was just free: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const t = testDeps();
    t.ui.answer({ input: `http://127.0.0.1:${port}` }, { pick: "API key" }, { input: `clapi_${"3".repeat(36)}` });
    assert.equal(await signIn(t.deps), false);
    const error = t.ui.messages("error").at(-1) ?? "";
    assert.match(
      error,
      /^Cannot reach the Clarive server at http:\/\/127\.0\.0\.1:\d+: nothing answers at that address \(connection refused\)\. Check the URL/,
    );
    assert.doesNotMatch(error, /ECONNREFUSED/);
  });
});
