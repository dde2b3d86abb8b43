import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { type Client, createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { startTestServer, type TestServer } from "../support/testServer";

/** The pids of this test process's git process hosts (the service runs in this process). */
function processHosts(): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).split("\n");
  return rows
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === String(process.pid) && (m[3] ?? "").includes("processHostChild"))
    .map((m) => Number(m[1]));
}

/** Sockets this process holds open (the service runs in it). */
function openSockets(): number {
  return fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:");
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

// git runs through a small companion process (git/processHostChild.mjs), over connections the
// service opens ahead of need. Whatever happens to that process, git requests go on being served.
describe("the git process host", () => {
  let server: TestServer;
  let admin: Client;
  let remote: string;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    const token = (await createToken(admin, { description: "host", permission: "read-write" })).token;
    await createRepository(admin, "host", "app");
    remote = remoteUrl(server.url, "host/app", "admin", token);
    const wc = await workingCopyWithCommit(remote);
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
  });
  after(() => server.close());

  it("killed, it is started again and the next clone and push are served (its ready connection died with it)", async () => {
    const socketsBefore = openSockets();
    for (let round = 0; round < 3; round++) {
      const [host] = processHosts();
      assert.ok(host, "the service runs a git process host");
      process.kill(host, "SIGKILL");
      const deadline = Date.now() + 20_000;
      while (processHosts().filter((pid) => pid !== host).length === 0) {
        assert.ok(Date.now() < deadline, "no new git process host");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Until the new host listens, git cannot start: a request then fails (500), as one did before.
      while ((await git(["ls-remote", remote])).code !== 0) {
        assert.ok(Date.now() < deadline, "git is not served again after the host restarted");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const dir = tempDir();
      await gitOk(["clone", "-q", remote, dir]);
      fs.writeFileSync(path.join(dir, `after-kill-${round}`), "x\n");
      await gitOk(["add", "."], { cwd: dir });
      await gitOk(["commit", "-qm", `after kill ${round}`], { cwd: dir });
      await gitOk(["push", "-q", "origin", "main"], { cwd: dir });
      const head = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
      assert.equal(await refOnDisk(path.join(server.config.reposDir, "host", "app.git")), head);
    }
    // A connection made ahead to a host that then died is closed, not kept half-open: one leaked per restart before.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(openSockets() <= socketsBefore + 1, `sockets ${socketsBefore} → ${openSockets()} after three restarts`);
  });

  it("many git requests at once are all served, though one connection at a time is made ahead", async () => {
    const results = await Promise.all(Array.from({ length: 24 }, () => git(["ls-remote", remote, "refs/heads/main"])));
    for (const result of results) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^[0-9a-f]{40}\trefs\/heads\/main$/m);
    }
  });
});
