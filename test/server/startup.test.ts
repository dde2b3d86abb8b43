import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { gitOk } from "../support/git";
import { freePort } from "../support/postgres";
import { TEST_DB, startTestServer } from "../support/testServer";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm start` with this environment (and no inherited database or admin password), until it exits or prints `until`. */
function runService(env: Record<string, string>, until?: RegExp): Promise<Run & { stop(): void }> {
  const { DATABASE_URL: _db, ADMIN_PASSWORD: _pw, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
    env: { ...inherited, HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = { code: null as number | null, stdout: "", stderr: "", stop: () => void child.kill("SIGKILL") };
  return new Promise((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => {
      run.stdout += chunk.toString();
      if (until?.test(run.stdout)) resolve(run);
    });
    child.stderr.on("data", (chunk: Buffer) => (run.stderr += chunk.toString()));
    child.once("exit", (code) => {
      run.code = code;
      resolve(run);
    });
  });
}

describe("start-up (npm start)", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-startup-"));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a busy port: one line, nothing created, and the next start still prints the first admin's password", async function () {
    this.timeout(120_000);
    const port = await freePort();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    const dir = dataDir();
    const busy = await runService({ PORT: String(port), DATA_DIR: dir });
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr.trim().split("\n").length, 1, `one line: ${busy.stderr}`);
    assert.equal(busy.stdout, "", "nothing else either");
    assert.match(busy.stderr, /Cannot listen on 127\.0\.0\.1:\d+ \(PORT\): the port is already in use \(EADDRINUSE\)/);
    assert.doesNotMatch(busy.stdout, /password/);
    assert.ok(!fs.existsSync(path.join(dir, "pg", "PG_VERSION")), "no database was created");

    const first = await runService({ PORT: String(port), DATA_DIR: dir }, /listening/);
    try {
      const password = /created user "admin" with password (\S+)/.exec(first.stdout)?.[1];
      assert.ok(password, `the password is printed: ${first.stdout}`);
      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password }),
      });
      assert.equal(login.status, 201, "and it is the admin's");
    } finally {
      first.stop();
    }
  });

  it("an unreachable DATABASE_URL: one line naming it, without its password", async function () {
    this.timeout(60_000);
    const dbPort = await freePort(); // nothing listens there
    const run = await runService({
      PORT: String(await freePort()),
      DATA_DIR: dataDir(),
      DATABASE_URL: `postgres://clarive:s3cret-pw@127.0.0.1:${dbPort}/clarive`,
    });
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split("\n").length, 1, `one line: ${run.stderr}`);
    assert.doesNotMatch(run.stdout, /password/);
    assert.match(
      run.stderr,
      new RegExp(
        `Cannot reach the database at postgres://clarive:\\*\\*\\*@127\\.0\\.0\\.1:${dbPort}/clarive \\(DATABASE_URL\\): connection refused \\(ECONNREFUSED\\)`,
      ),
    );
    assert.doesNotMatch(run.stderr + run.stdout, /s3cret-pw/);
  });

  it("removes what a killed push left (quarantined objects, stale lock files) and nothing else", async function () {
    this.timeout(60_000);
    const reposDir = dataDir();
    const bare = path.join(reposDir, "acme", "app.git");
    await gitOk(["init", "-q", "--bare", bare]);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const leave = (file: string, old: boolean) => {
      const full = path.join(bare, file);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, "x");
      // The file and the folders it made, as a push killed two hours ago left them.
      if (old) for (let at = full; at !== bare; at = path.dirname(at)) fs.utimesSync(at, twoHoursAgo, twoHoursAgo);
      return full;
    };
    const oldQuarantine = leave("objects/tmp_objdir-incoming-AbC123/pack/tmp_pack_XyZ", true);
    const oldRefLock = leave("refs/heads/feature/x.lock", true);
    const oldPackedRefsLock = leave("packed-refs.lock", true);
    // Just written: maybe a push another instance is receiving right now.
    const freshQuarantine = leave("objects/tmp_objdir-incoming-DeF456/pack/tmp_pack_UvW", false);
    const freshLock = leave("refs/heads/main.lock", false);
    const ref = leave("refs/heads/kept", true);
    const server = await startTestServer({ env: { REPOS_DIR: reposDir } });
    await server.close();
    for (const gone of [oldQuarantine, oldRefLock, oldPackedRefsLock]) assert.ok(!fs.existsSync(gone), `${gone} removed`);
    assert.ok(!fs.existsSync(path.dirname(path.dirname(oldQuarantine))), "the whole quarantine folder");
    assert.ok(fs.existsSync(ref) && fs.existsSync(path.join(bare, "HEAD")), "the repository itself is untouched");
    // The embedded database means one instance owns the folder: nothing there can be in use.
    const ownsFolder = TEST_DB === "pglite";
    assert.equal(fs.existsSync(freshQuarantine), !ownsFolder);
    assert.equal(fs.existsSync(freshLock), !ownsFolder);
  });
});
