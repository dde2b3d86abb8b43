import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../support/postgres";
import { processTree } from "../support/processTree";
import { ADMIN_PASSWORD, migratedPgliteTemplate } from "../support/testServer";

interface Line {
  at: number;
  entry: Record<string, unknown>;
}

/**
 * The service as `npm start` runs it, for what only its own process shows: the README's promise
 * that log lines are batched yet reach stdout within about half a second, and none is lost on stop.
 */
describe("the service process (npm start)", () => {
  let child: ChildProcess;
  let dataDir: string;
  let url: string;
  const lines: Line[] = [];
  let exited: Promise<number | null>;

  const waitForLine = async (match: (entry: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Line> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((line) => match(line.entry));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no such log line within ${timeoutMs} ms; got ${JSON.stringify(lines.map((l) => l.entry))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  before(async function () {
    this.timeout(60_000);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-process-"));
    fs.cpSync(await migratedPgliteTemplate(), path.join(dataDir, "pg"), { recursive: true });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const { DATABASE_URL: _postgres, ...inherited } = process.env; // the embedded database, as `npm start`
    child = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
      env: { ...inherited, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, ADMIN_PASSWORD, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let rest = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      const text = rest + chunk.toString("utf8");
      const parts = text.split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts)
        if (part.startsWith("{")) lines.push({ at: Date.now(), entry: JSON.parse(part) as Record<string, unknown> });
    });
    await waitForLine((entry) => typeof entry.msg === "string" && entry.msg.includes("listening"), 50_000);
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("writes a request's log line to stdout within about half a second, not only once a batch has gathered", async () => {
    const sent = Date.now();
    assert.equal((await fetch(`${url}/api/v1/openapi.json`)).status, 200);
    const line = await waitForLine((entry) => entry.path === "/api/v1/openapi.json", 5000);
    assert.ok(line.at - sent < 1500, `the line took ${line.at - sent} ms`);
  });

  it("loses no line when it stops, and exits cleanly", async () => {
    // Logged right before the signal, so still pending in the batch when it arrives.
    assert.equal((await fetch(`${url}/api/v1/settings/git`)).status, 401);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.ok(
      lines.some((line) => line.entry.path === "/api/v1/settings/git" && line.entry.status === 401),
      "the last request's line",
    );
    assert.ok(
      lines.some((line) => line.entry.signal === "SIGTERM"),
      "the shutting-down line",
    );
  });
});

/**
 * `npm start` as a user runs it (after `npm install`, whose prepare builds server/dist): one
 * node process for the service, started by npm itself (no shell, no TypeScript loader in
 * between, so npm's SIGTERM reaches it), and below it only the git process host.
 */
describe("npm start's processes", () => {
  let npm: ChildProcess;
  let dataDir: string;

  before(async function () {
    this.timeout(120_000);
    execFileSync(process.execPath, ["server/build.mjs"], { stdio: "inherit" }); // the working tree, as prepare builds it
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-npm-start-"));
    fs.cpSync(await migratedPgliteTemplate(), path.join(dataDir, "pg"), { recursive: true });
    const port = await freePort();
    const { DATABASE_URL: _postgres, ...inherited } = process.env;
    npm = spawn("npm", ["start"], {
      env: { ...inherited, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, ADMIN_PASSWORD, LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    for (;;) {
      if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}`);
      const status = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(() => {
    if (npm.exitCode === null) npm.kill("SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs the service as one node process right under npm, with only the git process host below it", () => {
    const tree = processTree(npm.pid as number);
    const children = (pid: number) => tree.filter((p) => p.ppid === pid);
    const [service, ...others] = children(npm.pid as number);
    assert.deepEqual(others, [], "npm starts one process");
    assert.ok(service, "npm starts the service");
    assert.match(service.command, /^\S*node server\/dist\/main\.js$/, "the service is node on the build, nothing in between");
    const below = children(service.pid);
    assert.equal(below.length, 1, `below the service: ${below.map((p) => p.command).join("; ")}`);
    assert.match(below[0]?.command ?? "", /node \S*server\/dist\/processHostChild\.mjs /, "the git process host, from the build");
    assert.deepEqual(children(below[0]?.pid ?? -1), [], "no git running while idle");
  });

  it("stops the service when npm is told to stop", async () => {
    const service = processTree(npm.pid as number).find((p) => p.ppid === npm.pid);
    assert.ok(service);
    const exited = new Promise((resolve) => npm.once("exit", resolve));
    npm.kill("SIGTERM");
    await exited;
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${service.pid}`); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!fs.existsSync(`/proc/${service.pid}`), "the service has exited");
  });
});
