import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitEnv, gitOk, refOnDisk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { boundedFetch, boundedGit, loop, sleep, waitUntil, type Operation } from "../support/load";
import { createDatabase, freePort, startPostgresCluster, type PostgresCluster } from "../support/postgres";
import { ADMIN_PASSWORD, migratedPgliteTemplate, startTestServer, TEST_DB, type TestServer } from "../support/testServer";

/** No operation may take longer than this, outage or not (the REST barrier waits at most 1 s). */
const BOUND_MS = 20_000;
const REPO = "acme/widgets";

const messages = (lines: string[], msg: string) => lines.filter((line) => (JSON.parse(line) as { msg?: string }).msg === msg).length;

// The database stopped under the service: only a real Postgres can be (PGlite is this process).
if (TEST_DB === "postgres") {
  describe("faults: Postgres stopped under load", function () {
    this.timeout(120_000);
    let cluster: PostgresCluster;
    const servers: TestServer[] = [];
    const logs: string[][] = [[], []];
    let alice: Client[];

    before(async () => {
      // Its own cluster: stopping the one the other suites share would fail them.
      cluster = await startPostgresCluster();
      const databaseUrl = await createDatabase(cluster.adminUrl, "faults");
      servers.push(await startTestServer({ databaseUrl, logLines: logs[0] }));
      servers.push(await startTestServer({ databaseUrl, env: { REPOS_DIR: servers[0]!.config.reposDir }, logLines: logs[1] }));
      const admin = await loginAdmin(servers[0]!);
      const onFirst = await createUser(admin, servers[0]!, "alice");
      await createRepository(admin, "acme", "widgets");
      await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
      await setPatAuth(admin, true);
      alice = servers.map((s) => new Client(s.url, onFirst.apiKey));
    });
    after(async () => {
      for (const server of servers) await server.close();
      cluster?.stop();
    });

    it("refuses git and answers 503 while it is down, never accepts a token revoked before, and serves again without a restart", async () => {
      const live = await createToken(alice[0]!);
      const revoked = await createToken(alice[0]!);
      const edited = await createToken(alice[0]!);
      const url = (i: number, token: string) => remoteUrl(servers[i]!.url, REPO, "alice", token);
      const infoRefs = (i: number, token: string) =>
        fetch(`${servers[i]!.url}/git/${REPO}.git/info/refs?service=git-upload-pack`, {
          headers: { authorization: `Basic ${Buffer.from(`alice:${token}`).toString("base64")}` },
          signal: AbortSignal.timeout(BOUND_MS),
        });
      const seed = await workingCopyWithCommit(url(0, live.token));
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: seed });
      // Both instances have both tokens in their caches; then one is revoked (the answer
      // comes once both instances have seen it).
      for (const i of [0, 1]) {
        await gitOk(["ls-remote", url(i, live.token)]);
        await gitOk(["ls-remote", url(i, revoked.token)]);
      }
      assert.equal((await alice[0]!.patch(`/tokens/${revoked.id}`, { active: false })).status, 200);

      let stopping = false;
      const stop = () => stopping;
      const ops: Operation[] = [];
      const pushed: { branch: string; commit: string }[] = [];
      const gitOp = async (kind: string, actor: string, args: string[], cwd?: string): Promise<Operation> => {
        const startedAt = performance.now();
        const result = await boundedGit(args, BOUND_MS, cwd);
        return {
          kind,
          actor,
          startedAt,
          endedAt: performance.now(),
          ok: result.code === 0,
          status: result.code,
          hung: result.hung,
          detail: result.stderr,
        };
      };
      const loops = [0, 1].flatMap((i) => {
        const actor = `instance ${i + 1}`;
        const work = tempDir();
        let n = 0;
        return [
          loop(stop, () => gitOp("clone", actor, ["clone", "-q", url(i, live.token), path.join(work, `clone-${n++}`)]), ops),
          loop(stop, () => gitOp("revoked", actor, ["ls-remote", url(i, revoked.token)]), ops),
          (async () => {
            const dir = await workingCopyWithCommit(url(i, live.token), `file-${i}`);
            const branch = `instance-${i + 1}`;
            await loop(
              stop,
              async () => {
                fs.writeFileSync(path.join(dir, `file-${i}`), `${n++}\n`);
                await gitOk(["commit", "-qam", `change ${n}`], { cwd: dir });
                const op = await gitOp("push", actor, ["push", "-q", "origin", `HEAD:refs/heads/${branch}`], dir);
                if (op.ok) pushed.push({ branch, commit: (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim() });
                return op;
              },
              ops,
            );
          })(),
          loop(
            stop,
            async () => {
              const startedAt = performance.now();
              const reply = await boundedFetch(
                `${servers[i]!.url}/api/v1/tokens/${edited.id}`,
                {
                  method: "PATCH",
                  headers: { authorization: `Bearer ${alice[i]!.apiKey}`, "content-type": "application/json" },
                  body: JSON.stringify({ description: `edit ${n++}` }),
                },
                BOUND_MS,
              );
              const detail = `${reply.code ?? ""} retry-after=${reply.retryAfter ?? "none"}`;
              const ok = reply.status === 200;
              return { kind: "edit", actor, startedAt, endedAt: performance.now(), ok, status: reply.status, hung: reply.hung, detail };
            },
            ops,
          ),
        ];
      });

      await sleep(1500);
      const crashedAt = performance.now();
      await cluster.crash();
      // Within staleAfterMs (750 ms) no instance decides from its cache any more.
      await waitUntil(() => servers.every((s) => !s.gitAccess.cacheTrusted), 5000, "both caches distrusted");
      const distrustedAt = performance.now();

      // What a user sees meanwhile: REST's 503, git's line, the auth hook's 403 with the reason.
      for (const i of [0, 1]) {
        const rest = await alice[i]!.get("/tokens");
        assert.equal(rest.status, 503);
        assert.equal((rest.body as { error: { code: string } }).error.code, "database_unavailable");
        assert.match(rest.headers.get("retry-after") ?? "", /^\d+$/);
        const clone = await boundedGit(["clone", "-q", url(i, live.token), path.join(tempDir(), "c")], BOUND_MS);
        assert.notEqual(clone.code, 0);
        assert.match(clone.stderr, /remote: The service cannot reach its database right now/);
        const raw = await infoRefs(i, live.token);
        assert.equal(raw.status, 503);
        assert.match(raw.headers.get("content-type") ?? "", /^text\/plain/);
        assert.match(raw.headers.get("retry-after") ?? "", /^\d+$/);
        const hook = await fetch(`${servers[i]!.url}/api/v1/git/auth`, {
          headers: {
            authorization: `Basic ${Buffer.from(`alice:${live.token}`).toString("base64")}`,
            "x-original-uri": `/git/${REPO}.git/info/refs?service=git-upload-pack`,
          },
        });
        assert.equal(hook.status, 403);
        assert.match(hook.headers.get("x-clarive-reason") ?? "", /cannot reach its database/);
        assert.equal(((await hook.json()) as { error: { code: string } }).error.code, "database_unavailable");
      }
      await sleep(1500); // the load keeps hitting the stopped database
      const resumingAt = performance.now();
      await cluster.resume();
      const resumedAt = performance.now();

      // Serving again, without a restart: a REST read and git's first request of a clone
      // succeed on each instance (the load's clones and pushes are checked below).
      const recovered = await Promise.all(
        [0, 1].map(async (i) => {
          await waitUntil(
            async () => (await alice[i]!.get("/tokens")).status === 200 && (await infoRefs(i, live.token)).status === 200,
            30_000,
            `instance ${i + 1} serving again`,
          );
          return (performance.now() - resumedAt) / 1000;
        }),
      );
      await waitUntil(() => servers.every((s) => s.gitAccess.cacheTrusted), 30_000, "caches trusted again");
      const trustedAfter = (performance.now() - resumedAt) / 1000;
      await sleep(500);
      stopping = true;
      await Promise.all(loops);
      process.stdout.write(
        `      Postgres down ${((resumingAt - crashedAt) / 1000).toFixed(1)} s; caches distrusted ${((distrustedAt - crashedAt) / 1000).toFixed(2)} s after the crash; ` +
          `serving again ${recovered.map((s) => s.toFixed(2)).join(" s / ")} s after Postgres accepted connections (caches trusted after ${trustedAfter.toFixed(2)} s); ` +
          `${ops.length} operations\n`,
      );

      const relative = (op: Operation) =>
        `${op.kind} on ${op.actor}: ${((op.startedAt - crashedAt) / 1000).toFixed(2)} s to ${((op.endedAt - crashedAt) / 1000).toFixed(2)} s after the crash (Postgres back at ${((resumedAt - crashedAt) / 1000).toFixed(2)} s)`;
      assert.deepEqual(ops.filter((op) => op.hung).map(relative), [], "no operation ran into the bound");
      const revokedAccepted = ops.filter((op) => op.kind === "revoked" && op.ok);
      assert.deepEqual(revokedAccepted, [], "the token revoked before the outage was never accepted");
      // Fail closed: what started once the caches were distrusted and ended before Postgres
      // was back was refused, git and REST alike; REST said 503 database_unavailable.
      const duringOutage = ops.filter((op) => op.startedAt > distrustedAt && op.endedAt < resumingAt);
      assert.ok(duringOutage.length > 0, "operations ran during the outage");
      assert.deepEqual(
        duringOutage.filter((op) => op.ok),
        [],
        "nothing succeeded against the stopped database",
      );
      for (const op of duringOutage.filter((o) => o.kind === "edit")) {
        assert.equal(op.status, 503, op.detail);
        assert.match(op.detail, /^database_unavailable retry-after=\d+$/);
      }
      assert.deepEqual(
        ops.filter((op) => op.kind === "edit" && op.status >= 500 && op.status !== 503),
        [],
        "no REST answer but 503 was a 5xx",
      );
      assert.ok(
        ops.some((op) => op.ok && op.startedAt > resumedAt),
        "the load succeeded again after the outage",
      );
      // Every push git reported is there, on disk, through either instance.
      const check = tempDir();
      await gitOk(["clone", "-q", url(1, live.token), check]);
      for (const { branch, commit } of pushed) {
        await gitOk(["merge-base", "--is-ancestor", commit, `origin/${branch}`], { cwd: check });
      }
      // The outage is logged once per instance as it begins and once as it ends, never per request.
      await waitUntil(() => logs.every((lines) => messages(lines, "database reachable again") > 0), 5000, "the recovery's log line");
      for (const lines of logs) {
        assert.equal(messages(lines, "database unreachable: REST answers 503 database_unavailable and git is refused until it is back"), 1);
        assert.equal(messages(lines, "database reachable again"), 1);
        assert.equal(messages(lines, "unhandled error"), 0);
      }
    });

    it("answers within a bound while Postgres hangs (connections open, nothing answering), and serves again once it answers", async () => {
      const live = await createToken(alice[0]!);
      const url = (i: number) => `${servers[i]!.url}/git/${REPO}.git/info/refs?service=git-upload-pack`;
      const basic = `Basic ${Buffer.from(`alice:${live.token}`).toString("base64")}`;
      for (const i of [0, 1]) assert.equal((await fetch(url(i), { headers: { authorization: basic } })).status, 200);
      cluster.freeze();
      try {
        await waitUntil(() => servers.every((s) => !s.gitAccess.cacheTrusted), 5000, "both caches distrusted");
        const started = performance.now();
        const answers = await Promise.all(
          [0, 1].flatMap((i) => [
            boundedFetch(url(i), { headers: { authorization: basic } }, BOUND_MS),
            boundedFetch(`${servers[i]!.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${alice[i]!.apiKey}` } }, BOUND_MS),
          ]),
        );
        const seconds = (performance.now() - started) / 1000;
        // By now the database is known to be away: git and REST are refused without asking it,
        // not after the connect deadline (5 s) or the statement deadline (15 s).
        const again = performance.now();
        const refusals = await Promise.all(
          [0, 1].flatMap((i) => [
            boundedFetch(url(i), { headers: { authorization: basic } }, BOUND_MS),
            boundedFetch(`${servers[i]!.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${alice[i]!.apiKey}` } }, BOUND_MS),
          ]),
        );
        const refusedIn = (performance.now() - again) / 1000;
        process.stdout.write(
          `      answered in ${seconds.toFixed(1)} s while Postgres hung, git and REST then refused in ${refusedIn.toFixed(2)} s\n`,
        );
        assert.deepEqual(
          refusals.map((a) => [a.status, a.code ?? "text", a.retryAfter, a.hung]),
          [
            [503, "text", "5", false],
            [503, "database_unavailable", "5", false],
            [503, "text", "5", false],
            [503, "database_unavailable", "5", false],
          ],
        );
        assert.ok(refusedIn < 5, `refused at once, not after a deadline (${refusedIn.toFixed(2)} s)`);
        assert.deepEqual(
          answers.map((a) => [a.status, a.hung]),
          [
            [503, false],
            [503, false],
            [503, false],
            [503, false],
          ],
        );
        // Neither a new connection's deadline nor a statement's is a fault of the service.
        for (const lines of logs) assert.equal(messages(lines, "unhandled error"), 0);
      } finally {
        cluster.thaw();
      }
      await waitUntil(async () => (await fetch(url(0), { headers: { authorization: basic } })).status === 200, 30_000, "serving again");
      await waitUntil(async () => (await fetch(url(1), { headers: { authorization: basic } })).status === 200, 30_000, "serving again");
    });
  });
}

/** The service as `npm start` runs it, in its own process group so a SIGKILL takes git with it. */
class ServiceProcess {
  child: ChildProcess | undefined;
  readonly lines: Record<string, unknown>[] = [];

  constructor(private readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    const { DATABASE_URL: _inherited, ...inherited } = process.env;
    const child = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
      env: { ...inherited, LOG_LEVEL: "info", ...this.env },
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    this.child = child;
    let rest = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) if (part.startsWith("{")) this.lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await Promise.race([
      waitUntil(() => this.lines.some((l) => typeof l.msg === "string" && l.msg.includes("listening")), 60_000, "the service to listen"),
      exited.then(() => {
        throw new Error("the service exited during start");
      }),
    ]);
  }

  /** SIGKILL to the whole group: the service, its git process host, git http-backend and receive-pack. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(-child.pid, "SIGKILL");
    await exited;
  }
}

/** Sends a receive-pack request as git would, `chunkBytes` at a time; resolves once `sentBytes` are out. */
function slowPush(url: string, authorization: string, body: Buffer, sentBytes: number): Promise<http.ClientRequest> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: "POST",
      headers: { authorization, "content-type": "application/x-git-receive-pack-request", "content-length": body.length },
    });
    req.on("error", () => undefined); // the service is killed under it
    req.on("response", (res) => res.resume());
    let offset = 0;
    const chunkBytes = 256 * 1024;
    const next = () => {
      if (offset >= sentBytes) return resolve(req);
      req.write(body.subarray(offset, (offset += chunkBytes)), () => setTimeout(next, 5));
    };
    next();
  });
}

const pktLine = (text: string) => `${(text.length + 4).toString(16).padStart(4, "0")}${text}`;

// What a crash leaves is on the repositories' disk, whatever the database; the PGlite run has
// it (the Postgres run has the outage above): one instance alone on its folder, so start-up
// also removes the quarantine (with Postgres, other instances may be using the folder and only
// quarantines older than an hour go), and the embedded database recovers from the kill too.
if (TEST_DB === "pglite") {
  describe("faults: the service SIGKILLed in the middle of a 40 MB push", function () {
    this.timeout(180_000);
    const dataDir = tempDir("clarive-kill-");
    let service: ServiceProcess;

    after(async () => {
      await service?.kill();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("leaves a repository git fsck finds clean, with no ref to a missing object, and the next push works", async () => {
      const env: Record<string, string> = { PORT: String(await freePort()), HOST: "127.0.0.1", DATA_DIR: dataDir, ADMIN_PASSWORD };
      fs.cpSync(await migratedPgliteTemplate(), path.join(dataDir, "pg"), { recursive: true });
      service = new ServiceProcess(env);
      await service.start();
      const baseUrl = `http://127.0.0.1:${env.PORT}`;
      const signedIn = await new Client(baseUrl).post<{ apiKey: string }>("/auth/login", { username: "admin", password: ADMIN_PASSWORD });
      const admin = new Client(baseUrl, signedIn.body.apiKey);
      await setPatAuth(admin, true);
      await createRepository(admin, "acme", "big");
      const token = (await createToken(admin)).token;
      const remote = remoteUrl(baseUrl, "acme/big", "admin", token);
      const bare = path.join(dataDir, "repos", "acme", "big.git");

      const dir = await workingCopyWithCommit(remote);
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: dir });
      const before = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
      fs.writeFileSync(path.join(dir, "big.bin"), randomBytes(40 * 1024 * 1024)); // incompressible
      await gitOk(["add", "big.bin"], { cwd: dir });
      await gitOk(["commit", "-qm", "40 MB"], { cwd: dir });
      const after = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();

      // git's own request for that push, sent slowly: the service is killed with 12 MB received.
      const pack = await new Promise<Buffer>((resolve, reject) => {
        const child = spawn("git", ["pack-objects", "--stdout", "--revs", "-q"], { cwd: dir, env: gitEnv() });
        const chunks: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => chunks.push(c));
        child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`pack-objects ${code}`))));
        child.stdin.end(`${after}\n^${before}\n`);
      });
      const body = Buffer.concat([Buffer.from(`${pktLine(`${before} ${after} refs/heads/main\0report-status\n`)}0000`), pack]);
      const authorization = `Basic ${Buffer.from(`admin:${token}`).toString("base64")}`;
      const request = await slowPush(`${baseUrl}/git/acme/big.git/git-receive-pack`, authorization, body, 12 * 1024 * 1024);
      const quarantines = () => fs.readdirSync(path.join(bare, "objects")).filter((name) => name.startsWith("tmp_objdir-incoming-"));
      await waitUntil(() => quarantines().length > 0, 10_000, "receive-pack's quarantine");
      await service.kill();
      request.destroy();
      assert.ok(quarantines().length > 0, "the killed push left its quarantine");

      service = new ServiceProcess(env);
      await service.start();
      const fsck = await git(["--git-dir", bare, "fsck", "--full", "--no-dangling"]);
      assert.equal(fsck.code, 0, fsck.stderr);
      assert.doesNotMatch(fsck.stdout + fsck.stderr, /missing|broken|error|corrupt/i);
      const refs = (await gitOk(["--git-dir", bare, "for-each-ref", "--format=%(objectname) %(refname)"])).trim().split("\n");
      for (const ref of refs) await gitOk(["--git-dir", bare, "cat-file", "-e", ref.split(" ")[0] ?? ""]);
      assert.equal(await refOnDisk(bare), before, "the killed push moved no ref");
      assert.deepEqual(quarantines(), [], "the quarantine is removed at start");

      // The same push, by git this time: no lock or leftover stands in its way.
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: dir });
      assert.equal(await refOnDisk(bare), after);
      const fsckAfter = await git(["--git-dir", bare, "fsck", "--full", "--no-dangling"]);
      assert.equal(fsckAfter.code, 0, fsckAfter.stderr);
    });
  });
}
