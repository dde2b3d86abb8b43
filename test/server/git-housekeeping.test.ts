import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { type Client, createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { gitOk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { startTestServer, type TestServer } from "../support/testServer";

// git receive-pack runs `git gc --auto` before the last byte of its answer; the service runs it
// after the answer instead (git/housekeeping.ts). What a user must still see: the repository is
// looked after as git would, the push does not wait for it, and a repository's own
// `receive.autogc = false` is honoured.
describe("git housekeeping after a push", () => {
  let server: TestServer;
  let admin: Client;
  let token: string;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    token = (await createToken(admin, { description: "housekeeping", permission: "read-write" })).token;
  });
  after(() => server.close());

  const bare = (name: string) => path.join(server.config.reposDir, "house", `${name}.git`);
  const packs = (name: string) => fs.readdirSync(path.join(bare(name), "objects", "pack")).filter((f) => f.endsWith(".pack")).length;
  const commit = async (wc: string, text: string) => {
    fs.writeFileSync(path.join(wc, "file.txt"), `${text}\n`);
    await gitOk(["add", "file.txt"], { cwd: wc });
    await gitOk(["commit", "-qm", text], { cwd: wc });
  };
  /** Until `runs` more housekeeping runs have finished and none is left running. */
  const housekeepingAfter = async (runsBefore: number, runs = 1) => {
    const deadline = Date.now() + 30_000;
    while (server.housekeeping.runs < runsBefore + runs) {
      if (Date.now() > deadline) throw new Error(`housekeeping ran ${server.housekeeping.runs - runsBefore} times, not ${runs}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.housekeeping.idle();
  };

  /** A repository with two packs, whose next `git gc --auto` repacks them (gc.autoPackLimit 1, in the foreground). */
  const repositoryDueForGc = async (name: string, config: Record<string, string> = {}) => {
    await createRepository(admin, "house", name);
    const wc = await workingCopyWithCommit(remoteUrl(server.url, `house/${name}`, "admin", token));
    for (const text of ["first", "second"]) {
      if (text !== "first") await commit(wc, text);
      const runsBefore = server.housekeeping.runs;
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
      await housekeepingAfter(runsBefore); // under git's default thresholds: nothing to do yet
      await gitOk(["--git-dir", bare(name), "repack", "-dq"]);
    }
    assert.equal(packs(name), 2);
    for (const [key, value] of Object.entries({ "gc.autoPackLimit": "1", "gc.autoDetach": "false", ...config })) {
      await gitOk(["--git-dir", bare(name), "config", key, value]);
    }
    return wc;
  };
  it("git's gc --auto still looks after the repository, after the push is answered: the push never waits for it, and runs one at a time", async () => {
    const wc = await repositoryDueForGc("app");
    // git runs pre-auto-gc only when gc --auto has work to do; this one holds it until released.
    const hooks = path.join(bare("app"), "hooks");
    fs.mkdirSync(hooks, { recursive: true });
    const started = path.join(tempDir(), "started");
    const release = path.join(tempDir(), "release");
    fs.writeFileSync(
      path.join(hooks, "pre-auto-gc"),
      `#!/bin/sh\n: > '${started}'\nfor i in $(seq 300); do [ -e '${release}' ] && exit 0; sleep 0.1; done\nexit 0\n`,
      { mode: 0o755 },
    );
    const runsBefore = server.housekeeping.runs;
    await commit(wc, "third");
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
    // The push has been answered while gc is still held (run inside receive-pack, it could not be).
    assert.equal(fs.existsSync(release), false);
    const deadline = Date.now() + 30_000;
    while (!fs.existsSync(started)) {
      assert.ok(Date.now() < deadline, "git gc --auto never ran after the push");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(packs("app"), 2, "gc has not run yet: its hook holds it");
    // Three more pushes while that run is held: they ask for one more run after it, not one each.
    for (const text of ["fourth", "fifth", "sixth"]) {
      await commit(wc, text);
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // their git's exits reach the service (a millisecond)
    assert.equal(server.housekeeping.runs, runsBefore, "nothing finished while gc is held");
    fs.writeFileSync(release, "");
    await housekeepingAfter(runsBefore, 2);
    assert.equal(server.housekeeping.runs, runsBefore + 2, "the held run and one more for the three pushes after it");
    assert.equal(packs("app"), 1, "gc --auto repacked the two packs and the push's loose objects into one");
    const head = (await gitOk(["rev-parse", "HEAD"], { cwd: wc })).trim();
    assert.equal((await gitOk(["--git-dir", bare("app"), "rev-parse", "refs/heads/main"])).trim(), head);
    await gitOk(["--git-dir", bare("app"), "fsck", "--full", "--no-dangling"]);
  });

  it("a repository's own receive.autogc = false is honoured, as receive-pack would", async () => {
    const wc = await repositoryDueForGc("quiet", { "receive.autogc": "false" });
    const runsBefore = server.housekeeping.runs;
    await commit(wc, "third");
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
    await housekeepingAfter(runsBefore);
    assert.equal(packs("quiet"), 2, "no gc: the repository turned it off");
    const loose = await gitOk(["--git-dir", bare("quiet"), "count-objects"]);
    assert.match(loose, /^[1-9]\d* objects/, "the push's objects stay loose");
  });
});
