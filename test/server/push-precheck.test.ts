import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { generatePersonalAccessToken, type TokenDto } from "@clarive/shared";
import { type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, tempDir } from "../support/git";
import { startTestServer, type TestServer } from "../support/testServer";

/**
 * A small push's body is read in the service before git needs it (server/src/git/pushProtection/
 * requestPack.ts): proven to carry no token, git runs without push protection's hook. Every rule
 * of push protection holds either way; these tests check which way a push went (GET /metrics) and
 * that nothing a user sees changed.
 */
describe("push protection: small pushes checked before git starts", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let pushToken: string;
  let counter = 0;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "precheck");
    await admin.put("/repositories/acme/precheck/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    pushToken = (await createToken(alice, { description: "laptop", expiresInDays: 365 })).token;
    const dir = tempDir();
    await gitOk(["init", "-q", dir]);
    // A file later pushes edit: their packs are thin, with this blob as a delta's base.
    fs.writeFileSync(path.join(dir, "big.txt"), Array.from({ length: 3000 }, (_, i) => `line ${i} of a long file\n`).join(""));
    await gitOk(["add", "."], { cwd: dir });
    await gitOk(["commit", "-qm", "first"], { cwd: dir });
    await gitOk(["push", "-q", url(), "main"], { cwd: dir });
    await gitOk(["repack", "-adq"], { cwd: bare() });
  });
  after(() => server.close());

  const bare = () => path.join(server.config.reposDir, "acme", "precheck.git");
  const url = () => remoteUrl(server.url, "acme/precheck", "alice", pushToken);

  /** Pushes checked so far, before git (no hook ran) and by the hook in git's quarantine, and the time each took. */
  async function checks(): Promise<{ requestBody: number; quarantine: number; requestBodySeconds: number; quarantineSeconds: number }> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const sample = (name: string, where: string) => Number(new RegExp(`${name}\\{where="${where}"\\} (\\S+)`).exec(text)?.[1]);
    return {
      requestBody: sample("clarive_push_protection_checks_total", "request_body"),
      quarantine: sample("clarive_push_protection_checks_total", "quarantine"),
      requestBodySeconds: sample("clarive_push_protection_check_seconds_total", "request_body"),
      quarantineSeconds: sample("clarive_push_protection_check_seconds_total", "quarantine"),
    };
  }
  async function pushedHow(push: () => Promise<void>): Promise<"before git" | "by the hook"> {
    const before = await checks();
    await push();
    const after = await checks();
    assert.equal(after.requestBody + after.quarantine, before.requestBody + before.quarantine + 1, "one check per push");
    const how = after.requestBody > before.requestBody ? "before git" : "by the hook";
    const spent =
      how === "before git" ? after.requestBodySeconds - before.requestBodySeconds : after.quarantineSeconds - before.quarantineSeconds;
    assert.ok(spent > 0, `the check's time is counted (${how})`);
    return how;
  }

  async function branchWith(files: Record<string, string | Buffer>[]) {
    const dir = tempDir();
    await gitOk(["clone", "-q", url(), dir]);
    const branch = `topic-${++counter}`;
    await gitOk(["checkout", "-q", "-b", branch], { cwd: dir });
    for (const [i, commit] of files.entries()) {
      for (const [file, content] of Object.entries(commit)) fs.writeFileSync(path.join(dir, file), content);
      await gitOk(["add", "-A"], { cwd: dir });
      await gitOk(["commit", "-q", "-m", `commit ${i}`], { cwd: dir });
    }
    const tip = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
    return { dir, branch, tip, push: () => git(["push", "origin", branch], { cwd: dir }) };
  }
  /** A whole pack of the commit and everything it reaches, as git pack-objects writes it. */
  async function packOf(dir: string, tip: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn("git", ["pack-objects", "--revs", "--stdout", "-q"], { cwd: dir });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`pack-objects: ${code}`))));
      child.stdin.end(`${tip}\n`);
    });
  }
  const quarantines = () => fs.readdirSync(path.join(bare(), "objects")).filter((name) => name.startsWith("tmp_objdir-incoming-"));

  it("a push of 50 commits that carries no token, editing a stored file (a thin pack), is proven clean before git: the ref moves", async () => {
    const original = Array.from({ length: 3000 }, (_, i) => `line ${i} of a long file\n`).join("");
    const commits: Record<string, string>[] = [{ "big.txt": `edited\n${original}` }];
    for (let i = 1; i < 50; i++) commits.push({ "log.txt": `commit ${i}\n` });
    const pushing = await branchWith(commits);
    let result: Awaited<ReturnType<typeof pushing.push>> | undefined;
    assert.equal(await pushedHow(async () => void (result = await pushing.push())), "before git");
    assert.equal(result?.code, 0, result?.stderr);
    assert.equal(await refOnDisk(bare(), `refs/heads/${pushing.branch}`), pushing.tip);
    const clone = tempDir();
    await gitOk(["clone", "-q", "-b", pushing.branch, url(), clone]);
    assert.match(fs.readFileSync(path.join(clone, "big.txt"), "utf8"), /^edited\nline 0 of a long file\n/);
    await gitOk(["fsck", "--full"], { cwd: bare() });
  });

  it("a push with a live token goes to the hook and is refused as always: no ref moved, the token deactivated, no quarantine left", async () => {
    const leaked = await createToken(alice, { description: "leaked" });
    const pushing = await branchWith([{ "a.txt": "a\n" }, { "deploy.env": `TOKEN=${leaked.token}\n` }]);
    let result: Awaited<ReturnType<typeof pushing.push>> | undefined;
    assert.equal(await pushedHow(async () => void (result = await pushing.push())), "by the hook");
    assert.notEqual(result?.code, 0);
    assert.match(result?.stderr ?? "", /remote: error: Push refused: it contains a live personal access token/);
    assert.match(result?.stderr ?? "", new RegExp(`clapat_…${leaked.token.slice(-4)} in commit [0-9a-f]{12}, deploy\\.env`));
    assert.equal(await refOnDisk(bare(), `refs/heads/${pushing.branch}`), null);
    assert.equal((await alice.get<TokenDto>(`/tokens/${leaked.id}`)).body.active, false);
    assert.deepEqual(quarantines(), [], "the git that was given no pack left nothing behind");
  });

  it("a well-formed token that is no live token, and a push over 1 MiB, go to the hook and go through", async () => {
    const invented = await branchWith([{ "example.env": `TOKEN=${generatePersonalAccessToken()}\n` }]);
    let result: Awaited<ReturnType<typeof invented.push>> | undefined;
    assert.equal(await pushedHow(async () => void (result = await invented.push())), "by the hook");
    assert.equal(result?.code, 0, result?.stderr);
    const large = await branchWith([{ "random.bin": crypto.randomBytes(3 * 1024 * 1024) }]);
    assert.equal(await pushedHow(async () => void (result = await large.push())), "by the hook");
    assert.equal(result?.code, 0, result?.stderr);
    assert.equal(await refOnDisk(bare(), `refs/heads/${large.branch}`), large.tip);
  });

  it("a repository's own hooks run for a push proven clean: its pre-receive can refuse, its post-receive runs", async () => {
    const hooks = path.join(bare(), "hooks");
    const marker = path.join(tempDir(), "post-receive-ran");
    fs.writeFileSync(
      path.join(hooks, "pre-receive"),
      '#!/bin/sh\nwhile read old new ref; do case "$ref" in refs/heads/blocked-*) echo "blocked by the repository" >&2; exit 1;; esac; done\n',
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(hooks, "post-receive"), `#!/bin/sh\ncat > ${marker}\n`, { mode: 0o755 });
    try {
      const pushing = await branchWith([{ "b.txt": "b\n" }]);
      let refused: Awaited<ReturnType<typeof pushing.push>> | undefined;
      assert.equal(
        await pushedHow(async () => void (refused = await git(["push", "origin", "HEAD:refs/heads/blocked-1"], { cwd: pushing.dir }))),
        "before git",
      );
      assert.notEqual(refused?.code, 0);
      assert.match(refused?.stderr ?? "", /remote: blocked by the repository/);
      assert.equal(await refOnDisk(bare(), "refs/heads/blocked-1"), null);
      const pushed = await pushing.push();
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(fs.readFileSync(marker, "utf8"), new RegExp(`${pushing.tip} refs/heads/${pushing.branch}`));
    } finally {
      fs.rmSync(path.join(hooks, "pre-receive"));
      fs.rmSync(path.join(hooks, "post-receive"));
    }
  });

  it("a pack with bytes after its end (git would act on it before reading them) cannot slip a live token past the check", async () => {
    // git receive-pack moves its refs once it has read a pack's SHA-1 trailer, whatever follows
    // (for a pack of under 100 objects, which git unpacks as loose objects): the check must not
    // give git a whole pack before its verdict, wherever the body ends.
    for (const [name, tail] of [
      ["20 bytes", Buffer.alloc(20, "J")],
      ["300 KiB", crypto.randomBytes(300 * 1024)],
    ] as const) {
      const leaked = await createToken(alice, { description: `tail ${name}` });
      // Objects large enough that the check reads the pack in several slices, the token last.
      const files: Record<string, string> = {};
      for (let i = 0; i < 60; i++) files[`f/${String(i).padStart(4, "0")}.txt`] = `${crypto.randomBytes(6 * 1024).toString("hex")}\n`;
      files["zz-deploy.env"] = `TOKEN=${leaked.token}\n`;
      const dir = tempDir();
      await gitOk(["init", "-q", dir]);
      fs.mkdirSync(path.join(dir, "f"));
      for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
      await gitOk(["add", "-A"], { cwd: dir });
      await gitOk(["commit", "-qm", "tail"], { cwd: dir });
      const tip = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
      const pack = await packOf(dir, tip);
      const ref = `refs/heads/tail-${++counter}`;
      const command = `${"0".repeat(40)} ${tip} ${ref}\0report-status agent=git/2.39.5\n`;
      const body = Buffer.concat([Buffer.from(`${(command.length + 4).toString(16).padStart(4, "0")}${command}0000`), pack, tail]);
      assert.ok(body.length < 1024 * 1024, "a body the service reads whole before git starts");
      const how = await pushedHow(async () => {
        const response = await fetch(`${server.url}/git/acme/precheck.git/git-receive-pack`, {
          method: "POST",
          headers: {
            authorization: `Basic ${Buffer.from(`alice:${pushToken}`).toString("base64")}`,
            "content-type": "application/x-git-receive-pack-request",
          },
          body,
        });
        await response.arrayBuffer();
      });
      assert.equal(how, "by the hook", name);
      assert.equal(await refOnDisk(bare(), ref), null, name);
      assert.equal((await alice.get<TokenDto>(`/tokens/${leaked.id}`)).body.active, false, name);
    }
    assert.deepEqual(quarantines(), []);
  });

  it("clean pushes and leaking pushes fired at the same moment, many rounds: each gets its own verdict", async () => {
    for (let round = 0; round < 6; round++) {
      const leaked = await createToken(alice, { description: `round ${round}` });
      const clean = await branchWith([{ "c.txt": `clean ${round}\n` }]);
      const leaking = await branchWith([{ "d.txt": `x\n${leaked.token}\n` }]);
      const [ok, refused] = await Promise.all([clean.push(), leaking.push()]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(await refOnDisk(bare(), `refs/heads/${clean.branch}`), clean.tip);
      assert.notEqual(refused.code, 0, `round ${round}`);
      assert.equal(await refOnDisk(bare(), `refs/heads/${leaking.branch}`), null);
      assert.equal((await alice.get<TokenDto>(`/tokens/${leaked.id}`)).body.active, false);
    }
    assert.deepEqual(quarantines(), []);
  });
});
