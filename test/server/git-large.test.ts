import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { spawn } from "node:child_process";
import http from "node:http";
import { git, gitOk, refOnDisk, remoteUrl, tempDir } from "../support/git";
import { startTestServer, type TestServer } from "../support/testServer";

describe("large git transfers", () => {
  let server: TestServer;
  let remote: string;

  before(async () => {
    server = await startTestServer();
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    await createRepository(admin, "acme", "big");
    remote = remoteUrl(server.url, "acme/big", "admin", (await createToken(admin)).token);
  });
  after(() => server.close());

  const commitFile = async (dir: string, name: string, bytes: number) => {
    fs.writeFileSync(path.join(dir, name), randomBytes(bytes)); // incompressible: the pack is as big as the file
    await gitOk(["add", name], { cwd: dir });
    await gitOk(["commit", "-qm", `add ${name}`], { cwd: dir });
  };

  it("pushes a 50 MB pack and clones it back intact", async () => {
    const dir = tempDir();
    await gitOk(["init", "-q", dir]);
    await commitFile(dir, "blob.bin", 50 * 1024 * 1024);
    await gitOk(["remote", "add", "origin", remote], { cwd: dir });
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: dir });
    const head = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
    assert.equal(await refOnDisk(path.join(server.config.reposDir, "acme", "big.git")), head);
    const clone = tempDir();
    await gitOk(["clone", "-q", remote, clone]);
    assert.equal(
      (await gitOk(["rev-parse", "HEAD:blob.bin"], { cwd: clone })).trim(),
      (await gitOk(["rev-parse", "HEAD:blob.bin"], { cwd: dir })).trim(),
    );
    assert.equal(fs.statSync(path.join(clone, "blob.bin")).size, 50 * 1024 * 1024);
  });

  it("accepts a chunked (> 1 MiB, no Content-Length) upload", async () => {
    const dir = tempDir();
    await gitOk(["clone", "-q", remote, dir]);
    await commitFile(dir, "chunked.bin", 2 * 1024 * 1024);
    const push = await git(["-c", "http.postBuffer=65536", "push", "origin", "main"], {
      cwd: dir,
      env: { GIT_TRACE_CURL: "1", GIT_TRACE_CURL_NO_DATA: "1" },
    });
    assert.equal(push.code, 0, push.stderr.slice(-2000));
    assert.match(push.stderr, /Transfer-Encoding: chunked/i, "git sent the pack chunked");
    assert.equal(
      await refOnDisk(path.join(server.config.reposDir, "acme", "big.git")),
      (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim(),
    );
  });

  it("stops git on the server when the client goes away mid-clone", async () => {
    const bare = path.join(server.config.reposDir, "acme", "big.git");
    const want = await refOnDisk(bare);
    const serverGitProcesses = async () => {
      const ps = await new Promise<string>((resolve) => {
        const child = spawn("ps", ["-eo", "ppid=,pid=,args="]);
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.on("close", () => resolve(out));
      });
      const rows = ps
        .split("\n")
        .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
        .filter((m) => m !== null);
      // This process's git process hosts, and the git processes they started.
      const hosts = new Set(rows.filter((m) => m[1] === String(process.pid) && m[3]?.includes("processHostChild")).map((m) => m[2]));
      assert.ok(hosts.size > 0, "the service runs git through its process host");
      return rows.filter((m) => (hosts.has(m[1]) && m[3]?.includes("http-backend")) || m[3]?.includes(bare)).map((m) => m[3] ?? "");
    };
    // git's own upload-pack request for everything; the client reads one chunk, then vanishes.
    const body = `0032want ${want}\n00000009done\n`;
    const auth = Buffer.from(new URL(remote).username + ":" + new URL(remote).password).toString("base64");
    const request = await new Promise<http.ClientRequest>((resolve, reject) => {
      const req = http.request(`${server.url}/git/acme/big.git/git-upload-pack`, {
        method: "POST",
        headers: { authorization: `Basic ${auth}`, "content-type": "application/x-git-upload-pack-request" },
      });
      req.on("response", (res) => {
        assert.equal(res.statusCode, 200);
        res.once("data", () => {
          res.pause();
          resolve(req);
        });
      });
      req.on("error", reject);
      req.end(body);
    });
    assert.ok((await serverGitProcesses()).length > 0, "git is serving the clone");
    request.destroy();
    let left: string[] = [];
    for (let i = 0; i < 100; i++) {
      left = await serverGitProcesses();
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(left, [], "no git process left behind");
  });
});
