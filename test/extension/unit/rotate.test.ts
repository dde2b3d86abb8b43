/**
 * Rotate Token against a real service (embedded PGlite), with a scripted UI and a fake git API:
 * the grace pick, the new secret shown once, every git credential of the token updated in the
 * same step (secret storage by token id, older entries by hint, a token embedded in a remote URL),
 * and the warning a token shows once a rotated-out secret is used.
 */
import assert from "node:assert/strict";
import path from "node:path";
import type { CreatedTokenDto } from "@clarive/shared";
import { isWellFormedPersonalAccessToken } from "@clarive/shared";
import { configureGitRemote, EMBED_CONFIRM } from "../../../extension/src/commands/configureRemote";
import { rotateToken } from "../../../extension/src/commands/rotateToken";
import { signIn } from "../../../extension/src/commands/signIn";
import { GIT_CREDENTIALS_SECRET_KEY } from "../../../extension/src/git/credentialStore";
import { treeNodes } from "../../../extension/src/core/treeModel";
import { createRepository, loginAdmin, setPatAuth, type Client } from "../../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../support/testServer";
import { FakeRepository, testDeps, type TestDeps } from "../support/commandDeps";

describe("Rotate Token (extension command against a real service)", function () {
  // Starting the service (migrations on PGlite) is slow on a busy machine.
  this.timeout(120_000);
  let server: TestServer;
  let admin: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await createRepository(admin, "acme", "widgets");
    await createRepository(admin, "acme", "gears");
    await createRepository(admin, "acme", "sprockets");
    await setPatAuth(admin, true);
  });
  after(async () => server?.close());

  async function signedIn(): Promise<TestDeps> {
    const t = testDeps();
    t.ui.answer({ input: server.url }, { pick: "Username and password" }, { input: "admin" }, { input: ADMIN_PASSWORD });
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
    return t;
  }

  /** What git's smart-HTTP discovery answers for this secret: 200 works, 401 refused. */
  async function gitStatus(repository: string, secret: string): Promise<number> {
    const response = await fetch(`${server.url}/git/${repository}.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${secret}`).toString("base64")}` },
    });
    await response.arrayBuffer();
    return response.status;
  }

  const newToken = async (description: string): Promise<CreatedTokenDto> =>
    (await admin.post<CreatedTokenDto>("/tokens", { description, expiresInDays: 30, permission: "read-write" })).body;

  async function configure(t: TestDeps, repo: FakeRepository, repository: string, secret: string, embed = false): Promise<void> {
    t.ui.answer(
      ...(t.repositories.length > 1 ? [{ pick: path.basename(repo.fsPath) }] : []),
      { pick: repository },
      { pick: "Paste an existing token" },
      { input: secret },
      ...(embed
        ? [{ pick: "Embed the token in the remote URL" }, { message: EMBED_CONFIRM }]
        : [{ pick: "VS Code secret storage (recommended)" }]),
    );
    assert.ok(await configureGitRemote(t.deps));
    t.ui.assertDone();
  }

  it("offers now / 1 hour / 1 day, shows the new secret once with Close, and updates every git credential of the token", async () => {
    const t = await signedIn();
    const token = await newToken("laptop");
    const other = await newToken("someone else's job");
    await t.deps.refreshTokens();

    const widgets = new FakeRepository("/work/widgets");
    const gears = new FakeRepository("/work/gears");
    const sprockets = new FakeRepository("/work/sprockets");
    t.repositories.push(widgets, gears, sprockets);
    await configure(t, widgets, "acme/widgets", token.token);
    await configure(t, gears, "acme/gears", token.token, true);
    await configure(t, sprockets, "acme/sprockets", other.token);
    // An entry stored by an earlier version (no token id): found by the token's hint.
    const entries = JSON.parse(t.secrets.values.get(GIT_CREDENTIALS_SECRET_KEY) ?? "[]") as Array<Record<string, unknown>>;
    const legacy = {
      host: new URL(server.url).host,
      path: "/git/acme/legacy",
      username: "admin",
      token: token.token,
      repository: "acme/legacy",
    };
    t.secrets.values.set(GIT_CREDENTIALS_SECRET_KEY, JSON.stringify([...entries, legacy]));

    const before = t.deps.cachedTokens().find((x) => x.id === token.id);
    assert.ok(before);
    t.ui.answer({ pick: "In 1 hour" }, { message: undefined });
    const rotated = await rotateToken(t.deps, { token: before });
    t.ui.assertDone();
    assert.ok(rotated);

    const pick = t.ui.prompts.find((p) => p.kind === "pick" && p.title === 'Rotate Token "laptop"');
    assert.deepEqual(pick?.labels, ["Now", "In 1 hour", "In 1 day"]);
    const modal = t.ui.prompts.at(-1);
    assert.equal(modal?.modal, true);
    assert.deepEqual(modal?.actions, ["Copy"]);
    assert.equal(modal?.closeLabel, "Close", "the dialog closes, it does not cancel");
    const secret = (modal?.detail ?? "").split("\n")[0] ?? "";
    assert.ok(isWellFormedPersonalAccessToken(secret) && secret !== token.token, "a new secret, shown in the dialog");
    assert.equal(t.clipboard.at(-1), secret, "and on the clipboard");
    assert.match(modal?.detail ?? "", /The old secret clapat_…\w{4} works until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(modal?.detail ?? "", /acme\/widgets \(secret storage\)/);
    assert.match(modal?.detail ?? "", /acme\/legacy \(secret storage\)/);
    assert.match(modal?.detail ?? "", /gears: origin \(\.git\/config\)/);

    assert.equal(rotated.token.id, token.id, "the same token");
    assert.equal(rotated.token.description, "laptop");
    assert.equal(t.deps.cachedTokens().find((x) => x.id === token.id)?.hint, `clapat_…${secret.slice(-4)}`, "the tree shows the new hint");

    // Every place git finds the token now has the new secret; the other token's credential is untouched.
    assert.deepEqual(await t.deps.credentials.lookup(`${server.url}/git/acme/widgets.git`), { username: "admin", password: secret });
    assert.deepEqual(await t.deps.credentials.lookup(`${server.url}/git/acme/legacy.git`), { username: "admin", password: secret });
    assert.deepEqual(await t.deps.credentials.lookup(`${server.url}/git/acme/sprockets.git`), { username: "admin", password: other.token });
    assert.deepEqual(gears.config.get("remote.origin.url"), [`http://admin:${secret}@${new URL(server.url).host}/git/acme/gears.git`]);
    assert.ok(!t.logLines.join("\n").includes(secret), "never logged");

    // Both secrets work inside the window.
    assert.equal(await gitStatus("acme/widgets", secret), 200);
    assert.equal(await gitStatus("acme/widgets", token.token), 200, "the old secret works for the grace hour");
  });

  it('"Now" refuses the old secret at once; using it then marks the token, and the tree shows a warning row that rotates', async () => {
    const t = await signedIn();
    const token = await newToken("ci runner");
    await t.deps.refreshTokens();
    const listed = t.deps.cachedTokens().find((x) => x.id === token.id);
    assert.ok(listed);
    t.ui.answer({ pick: "Now" }, { message: "Copy" });
    const rotated = await rotateToken(t.deps, listed);
    t.ui.assertDone();
    assert.ok(rotated);
    assert.match(
      t.ui.prompts.at(-1)?.detail ?? "",
      /The old secret clapat_…\w{4} no longer works\. No git credential on this machine used/,
    );
    assert.equal(t.clipboard.length, 2, "copied at once and again on Copy");
    const secret = t.clipboard[0] ?? "";
    assert.equal(await gitStatus("acme/widgets", secret), 200);
    assert.equal(await gitStatus("acme/widgets", token.token), 401, "the old secret is refused");

    await t.deps.refreshTokens();
    const leaked = t.deps.cachedTokens().find((x) => x.id === token.id);
    assert.ok(leaked?.reuseDetectedAt, "the server recorded the reuse");
    const node = treeNodes({ kind: "loaded", tokens: [leaked] }, 7, new Date()).find((n) => n.kind === "token");
    assert.ok(node && node.kind === "token");
    assert.equal(node.item.icon, "warning");
    assert.equal(node.item.expanded, true, "expanded, so the warning row shows");
    const [warning] = node.item.details;
    assert.equal(warning?.label, "Possibly leaked: rotate again");
    assert.equal(warning?.command, "clarive.rotateToken");
    assert.match(node.item.tooltip, /Warning: an old secret was used on/);
  });

  it("changes nothing when the grace pick is dismissed or the server refuses", async () => {
    const t = await signedIn();
    const token = await newToken("dismissed");
    await t.deps.refreshTokens();
    const listed = t.deps.cachedTokens().find((x) => x.id === token.id);
    assert.ok(listed);
    t.ui.answer({ cancel: true });
    assert.equal(await rotateToken(t.deps, listed), undefined);
    assert.equal(await gitStatus("acme/widgets", token.token), 200, "not rotated");

    await admin.delete(`/tokens/${token.id}`);
    t.ui.answer({ pick: "Now" });
    assert.equal(await rotateToken(t.deps, listed), undefined);
    t.ui.assertDone();
    assert.match(t.ui.messages("error").at(-1) ?? "", /^Could not rotate the token: /);
    assert.equal(t.clipboard.length, 0);
  });
});
