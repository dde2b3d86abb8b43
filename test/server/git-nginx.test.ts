import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { alterLastCharacter, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { renderExample, startNginx, type NginxFront } from "../support/nginx";
import { freePort } from "../support/postgres";
import { startTestServer, type TestServer } from "../support/testServer";

describe("nginx auth_request example (examples/nginx/clarive-git.conf) in front of git http-backend", () => {
  let server: TestServer;
  let nginx: NginxFront;
  let rw: string;
  let ro: string;
  const bare = () => path.join(server.config.reposDir, "acme", "widgets.git");

  before(async () => {
    server = await startTestServer();
    const admin = await loginAdmin(server);
    const alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    rw = (await createToken(alice, { permission: "read-write" })).token;
    ro = (await createToken(alice, { permission: "read" })).token;
    const seed = await workingCopyWithCommit(remoteUrl(server.url, "acme/widgets", "alice", rw));
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: seed });
    const listenPort = await freePort();
    const clarivePort = Number(new URL(server.url).port);
    nginx = await startNginx(listenPort, (socket) => renderExample({ listenPort, clarivePort, reposDir: server.config.reposDir, socket }));
  });
  after(async () => {
    await nginx?.stop();
    await server?.close();
  });

  it("a read-only token clones through nginx", async () => {
    const dir = tempDir();
    await gitOk(["clone", "-q", remoteUrl(nginx.url, "acme/widgets", "alice", ro), dir]);
    assert.ok(fs.existsSync(path.join(dir, "README")));
  });

  it("its push is refused through nginx with the hook's reason, and no ref moves", async () => {
    const before = await refOnDisk(bare());
    const dir = await workingCopyWithCommit(remoteUrl(nginx.url, "acme/widgets", "alice", ro), "x", "y\n");
    const push = await git(["push", "origin", "HEAD:refs/heads/main", "--force"], { cwd: dir });
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /403/);
    assert.match(push.stderr, /remote: This token is read-only/);
    assert.equal(await refOnDisk(bare()), before);
  });

  it("a read & write token pushes through nginx, as the token's owner", async () => {
    const dir = tempDir();
    await gitOk(["clone", "-q", remoteUrl(nginx.url, "acme/widgets", "alice", rw), dir]);
    fs.writeFileSync(path.join(dir, "via-nginx"), "1\n");
    await gitOk(["add", "."], { cwd: dir });
    await gitOk(["commit", "-qm", "via nginx"], { cwd: dir });
    await gitOk(["push", "-q", "origin", "main"], { cwd: dir });
    assert.equal(await refOnDisk(bare()), (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim());
  });

  it("bad credentials get 401 with the Basic challenge through nginx", async () => {
    const anonymous = await fetch(`${nginx.url}/git/acme/widgets.git/info/refs?service=git-upload-pack`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), 'Basic realm="Clarive"');
    const wrong = await git(["ls-remote", remoteUrl(nginx.url, "acme/widgets", "alice", alterLastCharacter(rw))]);
    assert.match(wrong.stderr, /Authentication failed/);
  });
});
