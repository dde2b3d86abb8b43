import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { CreatedTokenDto, LoginResponse } from "@clarive/shared";
import { Client } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, workingCopyWithCommit, type GitResult } from "../support/git";
import { freePort } from "../support/postgres";
import { ADMIN_PASSWORD, migratedPgliteTemplate } from "../support/testServer";

/**
 * A TCP proxy in front of the service that lets everything through, except that once a client
 * has sent the start of a push's pack (POST …/git-receive-pack, chunked), the rest of it is held back
 * until `release()`: a push that is certainly under way when the test signals the service.
 */
async function holdingProxy(target: number): Promise<{ port: number; held: Promise<void>; release: () => void; close: () => void }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    let holding = false;
    let packBytes = -1;
    client.on("data", (chunk: Buffer) => {
      if (holding) return;
      // The pack itself, not the small probe git sends first: its length is not known in advance.
      const text = chunk.toString("latin1");
      const packStarts = text.includes("POST /git/acme/app.git/git-receive-pack") && /transfer-encoding: chunked/i.test(text);
      if (packStarts) packBytes = 0;
      upstream.write(chunk);
      if (packBytes < 0) return;
      // Held well inside the pack (about 1 MB), never with only the request's head through:
      // git must have its commands and be receiving the pack into its quarantine.
      packBytes += chunk.length;
      if (packBytes < 256 * 1024) return;
      holding = true;
      client.pause();
      client.removeAllListeners("data");
      onHeld();
      void released.then(() => {
        client.pipe(upstream);
        client.resume();
      });
    });
    for (const socket of [client, upstream]) socket.on("error", () => undefined);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address() as net.AddressInfo;
  return {
    port: address.port,
    held,
    release,
    close: () => {
      proxy.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The service as `npm start` runs it, in a process group of its own (so that clean-up can kill all of it). */
async function startServiceProcess(env: Record<string, string>, existingDataDir?: string) {
  const dataDir = existingDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "clarive-shutdown-"));
  if (!existingDataDir) fs.cpSync(await migratedPgliteTemplate(), path.join(dataDir, "pg"), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { DATABASE_URL: _postgres, ...inherited } = process.env;
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
    env: {
      ...inherited,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      ADMIN_PASSWORD,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      ...env,
    },
    stdio: ["ignore", process.env.TEST_LOG_LEVEL ? "inherit" : "ignore", "inherit"],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    const up = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 600) throw new Error("the service did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const login = await new Client(url).post<LoginResponse>("/auth/login", { username: "admin", password: ADMIN_PASSWORD });
  const admin = new Client(url, login.body.apiKey);
  assert.equal((await admin.put("/settings/git", { patAuthEnabled: true })).status, 200);
  if (!existingDataDir) assert.equal((await admin.post("/repositories", { project: "acme", name: "app" })).status, 201);
  const created = await admin.post<CreatedTokenDto>("/tokens", { description: "push", permission: "read-write", expiresInDays: 30 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const token = created.body.token;
  return {
    url,
    port,
    token,
    exited,
    dataDir,
    bare: path.join(dataDir, "repos", "acme", "app.git"),
    /** To the service's process alone, as docker stop, Kubernetes and systemd's KillMode=mixed send it. */
    signal: (signal: NodeJS.Signals) => child.kill(signal),
    /** Waits until the service has read the headers of `count` requests it has not answered yet. */
    hasRequestsInFlight: async (count: number) => {
      for (let i = 0; i < 200; i++) {
        const text = await (await fetch(`${url}/metrics`)).text();
        if (Number(/^clarive_http_requests_in_flight (\d+)$/m.exec(text)?.[1]) >= count) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`fewer than ${count} requests in flight`);
    },
    kill: () => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    },
    cleanUp: () => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The push reached the proxy's hold, or the test fails at once with git's own words. */
async function heldOrFailed(held: Promise<void>, pushing: Promise<GitResult>): Promise<void> {
  const first = await Promise.race([held.then(() => null), pushing]);
  if (first) throw new Error(`the push ended before it was held: ${first.code} ${first.stderr}`);
}

const refused = async (url: string): Promise<boolean> => {
  for (let i = 0; i < 100; i++) {
    const connected = await fetch(`${url}/healthz`).then(
      () => true,
      () => false,
    );
    if (!connected) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
};

describe("graceful shutdown (SIGTERM)", () => {
  // A test that fails half-way must not leave its service running.
  const running: (() => void)[] = [];
  afterEach(() => {
    for (const cleanUp of running.splice(0)) cleanUp();
  });

  it("accepts no new connection, lets a push under way finish, then exits 0", async function () {
    this.timeout(120_000);
    const service = await startServiceProcess({ SHUTDOWN_TIMEOUT: "60" });
    const proxy = await holdingProxy(service.port);
    running.push(service.cleanUp, proxy.close);
    try {
      // Random content, so the pack is larger than one read and cannot be compressed away.
      const wc = await workingCopyWithCommit(
        remoteUrl(service.url, "acme/app", "admin", service.token),
        "data",
        randomBytes(1_000_000).toString("hex"),
      );
      const pushing = git(["push", "-q", remoteUrl(`http://127.0.0.1:${proxy.port}`, "acme/app", "admin", service.token), "HEAD:main"], {
        cwd: wc,
      });
      await heldOrFailed(proxy.held, pushing);
      await service.hasRequestsInFlight(2); // the push, and the scrape that asks
      service.signal("SIGTERM");
      assert.ok(await refused(service.url), "new connections are refused once the drain has begun");
      proxy.release();
      const push = await pushing;
      assert.equal(push.code, 0, `the push completes: ${push.stderr}`);
      assert.equal(await service.exited, 0);
      assert.equal(await refOnDisk(service.bare), (await gitOk(["rev-parse", "HEAD"], { cwd: wc })).trim(), "the pushed commit is there");
    } finally {
      proxy.close();
      service.cleanUp();
    }
  });

  it("cuts what still runs after SHUTDOWN_TIMEOUT, and exits 0", async function () {
    this.timeout(120_000);
    const service = await startServiceProcess({ SHUTDOWN_TIMEOUT: "1" });
    const proxy = await holdingProxy(service.port);
    running.push(service.cleanUp, proxy.close);
    try {
      const wc = await workingCopyWithCommit(
        remoteUrl(service.url, "acme/app", "admin", service.token),
        "data",
        randomBytes(1_000_000).toString("hex"),
      );
      const pushing = git(["push", "-q", remoteUrl(`http://127.0.0.1:${proxy.port}`, "acme/app", "admin", service.token), "HEAD:main"], {
        cwd: wc,
      });
      await heldOrFailed(proxy.held, pushing);
      await service.hasRequestsInFlight(2);
      service.signal("SIGTERM");
      assert.equal(await service.exited, 0, "exits once the timeout has passed, with the push still held");
      proxy.release();
      assert.notEqual((await pushing).code, 0, "the cut push fails");
      assert.equal(await refOnDisk(service.bare), null, "and moved no ref");
    } finally {
      proxy.close();
      service.cleanUp();
    }
  });

  it("after a SIGKILL in the middle of a push, the next start removes its quarantine and the push goes through", async function () {
    this.timeout(180_000);
    const service = await startServiceProcess({});
    const proxy = await holdingProxy(service.port);
    running.push(service.cleanUp, proxy.close);
    const wc = await workingCopyWithCommit(
      remoteUrl(service.url, "acme/app", "admin", service.token),
      "data",
      randomBytes(1_000_000).toString("hex"),
    );
    const pushing = git(["push", "-q", remoteUrl(`http://127.0.0.1:${proxy.port}`, "acme/app", "admin", service.token), "HEAD:main"], {
      cwd: wc,
    });
    await heldOrFailed(proxy.held, pushing);
    const objects = path.join(service.bare, "objects");
    const quarantines = () => fs.readdirSync(objects).filter((name) => name.startsWith("tmp_objdir-incoming-"));
    for (let i = 0; i < 200 && quarantines().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(quarantines().length, 1, "git is receiving the pack into its quarantine");
    service.kill();
    await service.exited;
    proxy.release();
    assert.notEqual((await pushing).code, 0);
    proxy.close();
    assert.equal(quarantines().length, 1, "left behind by the killed push");

    const again = await startServiceProcess({}, service.dataDir);
    running.push(again.cleanUp);
    assert.deepEqual(quarantines(), [], "removed at start");
    await gitOk(["push", "-q", remoteUrl(again.url, "acme/app", "admin", again.token), "HEAD:main"], { cwd: wc });
    assert.equal(await refOnDisk(again.bare), (await gitOk(["rev-parse", "HEAD"], { cwd: wc })).trim());
    await gitOk(["fsck", "--full"], { cwd: again.bare });
  });
});
