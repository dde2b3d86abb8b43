/**
 * Configure Git Remote and Remove Git Credentials leave the remote exactly as they say, against a
 * real service and a fake repository whose config has git's semantics (a key holds a list; the
 * vscode.git API's setConfig appends): starting from a token in the URL, a remote configured twice,
 * a push URL, and a stored credential whose token is gone.
 */
import assert from "node:assert/strict";
import type { CreatedTokenDto } from "@clarive/shared";
import { configureGitRemote, removeGitCredentials } from "../../../extension/src/commands/configureRemote";
import { createToken } from "../../../extension/src/commands/createToken";
import { signIn } from "../../../extension/src/commands/signIn";
import { createRepository, loginAdmin, setPatAuth, type Client } from "../../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../support/testServer";
import { FakeRepository, testDeps, type TestDeps } from "../support/commandDeps";

describe("exact remote configuration (extension commands against a real service)", function () {
  // Starting the service (migrations on PGlite) is slow on a busy machine.
  this.timeout(120_000);
  let server: TestServer;
  let admin: Client;
  let host: string;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    host = new URL(server.url).host;
    await createRepository(admin, "acme", "widgets");
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

  const newToken = async (description: string): Promise<CreatedTokenDto> =>
    (await admin.post<CreatedTokenDto>("/tokens", { description, expiresInDays: 30, permission: "read-write" })).body;
  const clean = () => `${server.url}/git/acme/widgets.git`;
  const withToken = (secret: string) => `http://admin:${secret}@${host}/git/acme/widgets.git`;

  it("moves a token out of the remote's URL (asking first), and leaves one URL and no push URL, even when it was configured twice", async () => {
    const t = await signedIn();
    const token = await newToken("embedded before");
    const repo = new FakeRepository("/work/widgets");
    // As the server's README once said: a token in the URL; then configured again with vscode.git's --add.
    repo.addRemoteUrls("origin", [withToken(token.token), clean()], [withToken(token.token)]);
    t.repositories.push(repo);
    t.ui.answer(
      { pick: "origin" },
      { pick: "acme/widgets" },
      { pick: "Move the token in the remote's URL to secret storage" },
      { pick: "VS Code secret storage (recommended)" },
    );
    const configured = await configureGitRemote(t.deps);
    t.ui.assertDone();
    assert.ok(configured);
    const tokenPick = t.ui.prompts.find((p) => p.text === "Which personal access token should git use?");
    assert.equal(tokenPick?.labels?.[0], "Move the token in the remote's URL to secret storage", "offered first");
    assert.deepEqual(repo.config.get("remote.origin.url"), [clean()], "exactly one URL (git config --get-all)");
    assert.equal(repo.config.has("remote.origin.pushurl"), false, "no push URL left pointing elsewhere");
    assert.ok(![...repo.config.values()].flat().some((v) => v.includes("clapat_")), "no token anywhere in .git/config");
    assert.deepEqual(
      await t.deps.credentials.lookup(clean()),
      { username: "admin", password: token.token },
      "the same token, now in secret storage",
    );
    assert.equal((await t.deps.credentials.all())[0]?.tokenId, token.id, "stored with its token's id");
    const message = t.ui.messages("info").at(-1) ?? "";
    assert.match(message, /its 2 URLs are now one/);
    assert.match(message, /its push URL was removed/);
    assert.match(message, /the token clapat_…\w{4} that was in its URL is no longer in \.git\/config/);

    // Configured once more (keeping the stored token): still one URL, one useHttpPath.
    t.ui.answer(
      { pick: "origin" },
      { pick: "acme/widgets" },
      { pick: "Keep the stored token" },
      { pick: "VS Code secret storage (recommended)" },
    );
    assert.ok(await configureGitRemote(t.deps));
    t.ui.assertDone();
    assert.deepEqual(repo.config.get("remote.origin.url"), [clean()]);
    assert.deepEqual(repo.config.get(`credential.${server.url}.useHttpPath`), ["true"]);
  });

  it("never offers a stored token, or one in the URL, whose token was removed or deactivated", async () => {
    const t = await signedIn();
    const removed = await newToken("removed since");
    const inactive = await newToken("deactivated since");
    const repo = new FakeRepository("/work/stale");
    repo.addRemoteUrls("origin", [withToken(inactive.token)]);
    t.repositories.push(repo);
    await t.deps.credentials.set(clean(), "admin", removed.token, "acme/widgets", removed.id);
    await admin.delete(`/tokens/${removed.id}`);
    await admin.patch(`/tokens/${inactive.id}`, { active: false });
    t.ui.answer({ pick: "origin" }, { pick: "acme/widgets" }, { cancel: true });
    assert.equal(await configureGitRemote(t.deps), undefined);
    t.ui.assertDone();
    const tokenPick = t.ui.prompts.find((p) => p.text === "Which personal access token should git use?");
    assert.deepEqual(tokenPick?.labels, ["Create a new token for acme/widgets", "Paste an existing token"]);
    assert.deepEqual(repo.config.get("remote.origin.url"), [withToken(inactive.token)], "cancelled: nothing changed");
  });

  it("Remove Git Credentials strips a token from every URL and push URL of a remote, and says which", async () => {
    const t = await signedIn();
    const token = await newToken("to strip");
    const repo = new FakeRepository("/work/strip");
    repo.addRemoteUrls("origin", [clean(), withToken(token.token)], [withToken(token.token)]);
    t.repositories.push(repo);
    t.ui.answer({ pickMany: ["strip: origin"] });
    assert.equal(await removeGitCredentials(t.deps), 1);
    t.ui.assertDone();
    assert.deepEqual(repo.config.get("remote.origin.url"), [clean()], "the duplicate left once stripped");
    assert.deepEqual(repo.config.get("remote.origin.pushurl"), [clean()]);
    assert.match(t.ui.messages("info").at(-1) ?? "", /^Removed 1 git credential: strip: origin\./);
  });
  it("offers the token just created (its dialog closed) in Configure Git Remote, first, without a paste", async () => {
    const t = await signedIn();
    const repo = new FakeRepository("/work/fresh");
    t.repositories.push(repo);
    t.ui.answer(
      { input: "made a moment ago" },
      { pick: "30 days" },
      { pick: "Selected repositories…" },
      { pickMany: ["acme/widgets"] },
      { pick: "Read & write" },
      { message: undefined },
    );
    const created = await createToken(t.deps);
    assert.ok(created);
    const secret = t.clipboard[0];
    t.ui.answer(
      { pick: "acme/widgets" },
      { pick: 'Use the token just created: "made a moment ago"' },
      { pick: "VS Code secret storage (recommended)" },
    );
    assert.ok(await configureGitRemote(t.deps));
    t.ui.assertDone();
    const tokenPick = t.ui.prompts.find((p) => p.text === "Which personal access token should git use?");
    assert.equal(tokenPick?.labels?.[0], 'Use the token just created: "made a moment ago"');
    assert.deepEqual(await t.deps.credentials.lookup(clean()), { username: "admin", password: secret });
    assert.equal((await t.deps.credentials.all()).find((entry) => entry.path === "/git/acme/widgets")?.tokenId, created.token.id);
  });
});
