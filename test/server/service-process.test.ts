import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../support/postgres";
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

  it("writes a request's log line to stdout within about half a second, not only once 4 KiB have gathered", async () => {
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
