import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { checksum, type AuditEventDto, type Page, type RepositoryDto, type TokenDto } from "@clarive/shared";
import { alterLastCharacter, type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, tempDir } from "../support/git";
import { MovableClock, startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const DAY = 86_400_000;

describe("push protection: a push carrying a live token is refused", () => {
  const clock = new MovableClock();
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let bob: Client;
  let pushToken: string;
  let counter = 0;

  before(async () => {
    server = await startTestServer({ clock });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    bob = await createUser(admin, server, "bob");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    pushToken = (await createToken(alice, { description: "laptop", expiresInDays: 365 })).token;
  });
  after(() => server.close());

  const bare = () => path.join(server.config.reposDir, "acme", "widgets.git");
  const url = () => remoteUrl(server.url, "acme/widgets", "alice", pushToken);

  /** A fresh clone with a new branch and commits: `files` per commit, each a map of path → content. */
  async function branchWith(commits: { files?: Record<string, string | Buffer>; message?: string }[]) {
    const dir = tempDir();
    await gitOk(["clone", "-q", url(), dir]);
    const branch = `topic-${++counter}`;
    await gitOk(["checkout", "-q", "-b", branch], { cwd: dir });
    const made: string[] = [];
    for (const [i, commit] of commits.entries()) {
      for (const [file, content] of Object.entries(commit.files ?? { [`note-${i}.txt`]: `note ${i}\n` })) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
      }
      await gitOk(["add", "-A"], { cwd: dir });
      await gitOk(["commit", "-q", "--allow-empty", "-m", commit.message ?? `commit ${i}`], { cwd: dir });
      made.push((await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim());
    }
    const push = () => git(["push", "origin", branch], { cwd: dir });
    return { dir, branch, made, push };
  }

  const tokenOf = async (client: Client, id: number) => (await client.get<TokenDto>(`/tokens/${id}`)).body;
  const leakEvents = async () =>
    (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items.filter((e) => e.action === "token.leaked_in_push");

  before(async () => {
    // The repository needs a main branch to clone from.
    const dir = tempDir();
    await gitOk(["init", "-q", dir]);
    fs.writeFileSync(path.join(dir, "README"), "hello\n");
    await gitOk(["add", "."], { cwd: dir });
    await gitOk(["commit", "-qm", "first"], { cwd: dir });
    await gitOk(["push", "-q", url(), "main"], { cwd: dir });
  });

  it("refuses the push before any ref moves, names commit, path and hint, deactivates the token and audits it", async () => {
    const leaked = await createToken(bob, { description: "bob's deploy key" });
    const { made, branch, push } = await branchWith([
      { files: { "src/app.ts": "export const x = 1;\n" } },
      { files: { "config/deploy.env": `API=https://example.test\nTOKEN=${leaked.token}\n` } },
      { files: { "docs/notes.md": "nothing here\n" } },
    ]);
    const result = await push();
    assert.notEqual(result.code, 0, "the push fails");
    assert.match(result.stderr, /remote: error: Push refused: it contains a live personal access token\. No ref was changed\./);
    assert.match(
      result.stderr,
      new RegExp(`remote: error: +clapat_…${leaked.token.slice(-4)} in commit ${made[1]!.slice(0, 12)}, config/deploy\\.env`),
    );
    assert.match(result.stderr, /remote: error: That token has been deactivated/);
    assert.match(result.stderr, /git commit --amend/);
    assert.match(result.stderr, /pre-receive hook declined/);
    assert.ok(!result.stderr.includes(leaked.token), "git never shows the whole secret");
    assert.equal(await refOnDisk(bare(), `refs/heads/${branch}`), null, "no ref moved");
    assert.equal((await tokenOf(bob, leaked.id)).active, false, "the leaked token is deactivated");
    const status = await git(["ls-remote", remoteUrl(server.url, "acme/widgets", "bob", leaked.token)]);
    assert.notEqual(status.code, 0, "and refused by git at once");
    const event = (await leakEvents()).find((e) => e.target === `token:${leaked.id}`);
    assert.ok(event, "audit event token.leaked_in_push");
    assert.equal(event.actor, "alice");
    assert.deepEqual(
      { ...event.details },
      {
        repository: "acme/widgets",
        pusher: "alice",
        commit: made[1],
        path: "config/deploy.env",
        hint: `clapat_…${leaked.token.slice(-4)}`,
        deactivated: true,
      },
    );
    assert.ok(!JSON.stringify(await leakEvents()).includes(leaked.token), "the audit trail has the hint only");
    assert.equal(
      (await tokenOf(alice, (await alice.get<TokenDto[]>("/tokens")).body[0]!.id)).active,
      true,
      "the pusher's own token is untouched",
    );
  });

  it("refuses the same commits pushed again after the refusal, or at the same moment: a deactivated token can be reactivated", async () => {
    const leaked = await createToken(bob);
    const first = await branchWith([{ files: { "deploy.env": `TOKEN=${leaked.token}\n` } }]);
    assert.notEqual((await first.push()).code, 0);
    assert.equal((await tokenOf(bob, leaked.id)).active, false);
    const again = await first.push();
    assert.notEqual(again.code, 0, "pushed again, it is still refused");
    assert.match(again.stderr, /Push refused: it contains a live personal access token/);
    assert.equal(await refOnDisk(bare(), `refs/heads/${first.branch}`), null);
    // Three pushes carrying one live token at once: each is refused, whichever deactivates it.
    for (let round = 0; round < 3; round++) {
      const racing = await createToken(bob);
      const branches = await Promise.all([0, 1, 2].map((k) => branchWith([{ files: { [`k${k}.env`]: racing.token } }])));
      const results = await Promise.all(branches.map((b) => b.push()));
      assert.deepEqual(
        results.map((r) => r.code !== 0),
        [true, true, true],
        results.map((r) => r.stderr).join("\n"),
      );
      for (const b of branches) assert.equal(await refOnDisk(bare(), `refs/heads/${b.branch}`), null);
    }
  });

  it("lets the same push through once the token string is a deleted token's, an invented one or a look-alike", async () => {
    const deleted = await createToken(bob);
    assert.equal((await bob.delete(`/tokens/${deleted.id}`)).status, 204);
    const random = "Ab3dEf6hIj9kLm2oPq5sTu8wXy1zAB";
    const invented = `clapat_${random}${checksum(random)}`;
    const live = await createToken(bob);
    const lookAlike = alterLastCharacter(live.token);
    const { branch, push, made } = await branchWith([
      { files: { "a.txt": `old=${deleted.token}\n`, "b.md": `example: ${invented}\n`, "c.txt": `typo: ${lookAlike}\n` } },
    ]);
    const result = await push();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await refOnDisk(bare(), `refs/heads/${branch}`), made[0]);
    assert.equal((await tokenOf(bob, live.id)).active, true, "a look-alike of a live token deactivates nothing");
  });

  it("finds a token in a commit message, in a nested file of an older commit, and in a large text file; skips large binaries", async () => {
    const inMessage = await createToken(bob);
    let branch = await branchWith([{ message: `deploy with ${inMessage.token}` }, {}]);
    let result = await branch.push();
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`in commit ${branch.made[0]!.slice(0, 12)}, \\(commit message\\)`));
    assert.equal((await tokenOf(bob, inMessage.id)).active, false);

    // A 9 MB text file (over the size at which binaries are skipped) is still read to its end.
    const inLargeText = await createToken(bob);
    const text = `${"x = 1\n".repeat(1_500_000)}secret = "${inLargeText.token}"\n`;
    branch = await branchWith([{ files: { "data/big.txt": text } }]);
    result = await branch.push();
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /data\/big\.txt/);
    assert.equal((await tokenOf(bob, inLargeText.id)).active, false);

    // A 9 MB binary (NUL bytes at its start) is not scanned: a token's bytes inside it are no leak to report.
    const inLargeBinary = await createToken(bob);
    const binary = Buffer.concat([Buffer.alloc(9 * 1024 * 1024), Buffer.from(inLargeBinary.token)]);
    branch = await branchWith([{ files: { "assets/blob.bin": binary } }]);
    result = await branch.push();
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await tokenOf(bob, inLargeBinary.id)).active, true);

    // A small binary file is scanned whole.
    const inSmallBinary = await createToken(bob);
    branch = await branchWith([{ files: { "assets/icon.bin": Buffer.concat([Buffer.alloc(100), Buffer.from(inSmallBinary.token)]) } }]);
    result = await branch.push();
    assert.notEqual(result.code, 0);
    assert.equal((await tokenOf(bob, inSmallBinary.id)).active, false);
  });

  it("refuses for every live token of the push at once, in an annotated tag's message too", async () => {
    const [one, two, three] = [await createToken(bob), await createToken(bob), await createToken(bob)];
    const { dir, made } = await branchWith([{ files: { "one.txt": one.token } }, { files: { "sub/dir/two.txt": `x ${two.token} y` } }]);
    await gitOk(["tag", "-a", "v1", "-m", `release, deployed with ${three.token}`], { cwd: dir });
    const result = await git(["push", "origin", "--follow-tags", "HEAD:refs/heads/two-leaks", "refs/tags/v1"], { cwd: dir });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /it contains 3 live personal access tokens/);
    assert.match(result.stderr, new RegExp(`${one.token.slice(-4)} in commit ${made[0]!.slice(0, 12)}, one\\.txt`));
    assert.match(result.stderr, new RegExp(`${two.token.slice(-4)} in commit ${made[1]!.slice(0, 12)}, sub/dir/two\\.txt`));
    assert.match(result.stderr, new RegExp(`${three.token.slice(-4)} in commit [0-9a-f]{12}, \\(an object of this push\\)`));
    assert.match(result.stderr, /Those tokens have been deactivated/);
    for (const t of [one, two, three]) assert.equal((await tokenOf(bob, t.id)).active, false);
    assert.equal(await refOnDisk(bare(), "refs/tags/v1"), null);
  });

  it("refuses a live token in the name of a branch the push creates", async () => {
    const t = await createToken(bob);
    const { dir, made } = await branchWith([{}]);
    const result = await git(["push", "origin", `HEAD:refs/heads/fix-${t.token}`], { cwd: dir });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      new RegExp(`in commit ${made[0]!.slice(0, 12)}, \\(the name of refs/heads/fix-clapat_…${t.token.slice(-4)}\\)`),
    );
    assert.equal((await tokenOf(bob, t.id)).active, false);
  });

  it("refuses a live token used as a file or folder name, showing the path with the token's hint only", async () => {
    const asFile = await createToken(bob);
    const asFolder = await createToken(bob);
    const { made, push } = await branchWith([{ files: { [`keys/${asFile.token}`]: "x\n", [`${asFolder.token}/notes.txt`]: "y\n" } }]);
    const result = await push();
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /it contains 2 live personal access tokens/);
    assert.match(result.stderr, new RegExp(`in commit ${made[0]!.slice(0, 12)}, keys/clapat_…${asFile.token.slice(-4)}`));
    assert.match(result.stderr, new RegExp(`in commit ${made[0]!.slice(0, 12)}, clapat_…${asFolder.token.slice(-4)}/notes\\.txt`));
    for (const t of [asFile, asFolder]) {
      assert.equal((await tokenOf(bob, t.id)).active, false);
      assert.ok(!result.stderr.includes(t.token), "git never shows the whole secret");
    }
    assert.ok(!JSON.stringify(await leakEvents()).includes(asFile.token), "the audit trail has the hint only");
  });

  it("refuses a live token in a UTF-16 file, and one placed after thousands of look-alikes", async () => {
    const inUtf16 = await createToken(bob);
    const afterLookAlikes = await createToken(bob);
    const lookAlikes = Array.from({ length: 3000 }, (_, i) => `clapat_${i.toString().padStart(36, "0")}`).join("\n");
    const { push } = await branchWith([
      { files: { "windows/settings.ini": Buffer.from(`\ufeff[auth]\r\ntoken=${inUtf16.token}\r\n`, "utf16le") } },
      { files: { "fixtures/ids.txt": `${lookAlikes}\n${afterLookAlikes.token}\n` } },
    ]);
    const result = await push();
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /windows\/settings\.ini/);
    assert.match(result.stderr, /fixtures\/ids\.txt/);
    for (const t of [inUtf16, afterLookAlikes]) assert.equal((await tokenOf(bob, t.id)).active, false);
  });

  it("lets a mirror-style push of thousands of tags through", async () => {
    const { dir, made } = await branchWith([{}]);
    const tags = Array.from({ length: 3000 }, (_, i) => `refs/tags/release-candidate-build-number-${i}`);
    fs.appendFileSync(path.join(dir, ".git", "packed-refs"), tags.map((tag) => `${made[0]} ${tag}\n`).join(""));
    const result = await git(["push", "origin", "--tags"], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await refOnDisk(bare(), tags[2999]), made[0]);
  });

  it("a repository's own hooks still run: its pre-receive can refuse, its post-receive runs after the push", async () => {
    const hooks = path.join(bare(), "hooks");
    const marker = path.join(server.dataDir, "post-receive-ran");
    fs.writeFileSync(
      path.join(hooks, "pre-receive"),
      '#!/bin/sh\nwhile read o n r; do case $r in *blocked*) echo "policy: no blocked branches" >&2; exit 1;; esac; done\n',
      {
        mode: 0o755,
      },
    );
    fs.writeFileSync(path.join(hooks, "post-receive"), `#!/bin/sh\ncat > ${marker}\n`, { mode: 0o755 });
    try {
      const { dir } = await branchWith([{}]);
      const refused = await git(["push", "origin", "HEAD:refs/heads/blocked-1"], { cwd: dir });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /remote: policy: no blocked branches/);
      assert.ok(!fs.existsSync(marker));
      const pushed = await git(["push", "origin", "HEAD:refs/heads/allowed-1"], { cwd: dir });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(fs.readFileSync(marker, "utf8"), /refs\/heads\/allowed-1/);
      // And a leak is still refused by ours first.
      const t = await createToken(bob);
      fs.writeFileSync(path.join(dir, "leak.txt"), t.token);
      await gitOk(["add", "leak.txt"], { cwd: dir });
      await gitOk(["commit", "-qm", "leak"], { cwd: dir });
      const leak = await git(["push", "origin", "HEAD:refs/heads/allowed-2"], { cwd: dir });
      assert.match(leak.stderr, /Push refused/);
    } finally {
      fs.rmSync(path.join(hooks, "pre-receive"));
      fs.rmSync(path.join(hooks, "post-receive"));
    }
  });

  it("only scans what the push adds: a token already in the repository's history does not block later pushes", async () => {
    const old = await createToken(bob);
    await admin.patch("/repositories/acme/widgets", { pushProtection: "false" });
    const body = "a line of text that stays the same\n".repeat(200);
    const first = await branchWith([{ files: { "legacy.txt": `${old.token}\n${body}` } }]);
    assert.equal((await first.push()).code, 0, "pushed while protection was off");
    await admin.patch("/repositories/acme/widgets", { pushProtection: "inherit" });
    await gitOk(["commit", "-q", "--allow-empty", "-m", "more"], { cwd: first.dir });
    const again = await first.push();
    assert.equal(again.code, 0, again.stderr);
    // The token taken out of that file: the push carries a new blob without it. (Were the old blob
    // sent along as a thin pack's base, it would still not count: objectsAlreadyStored in scan.ts.)
    fs.writeFileSync(path.join(first.dir, "legacy.txt"), `token removed\n${body}`);
    await gitOk(["commit", "-qam", "edit legacy.txt"], { cwd: first.dir });
    const edited = await first.push();
    assert.equal(edited.code, 0, edited.stderr);
    assert.equal((await tokenOf(bob, old.id)).active, true);
  });

  it("a secret rotated out but still inside its grace window is live", async () => {
    const t = await createToken(bob);
    assert.equal((await bob.post(`/tokens/${t.id}/rotate`, { graceMinutes: 60 })).status, 201);
    const { push } = await branchWith([{ files: { "old-secret.txt": t.token } }]);
    const result = await push();
    assert.notEqual(result.code, 0);
    assert.equal((await tokenOf(bob, t.id)).active, false);
  });

  it("is switched per repository and globally, with the inherit/true/false shape of patAccess", async () => {
    const check = async (expectRefused: boolean) => {
      const t = await createToken(bob);
      const result = await (await branchWith([{ files: { "leak.txt": t.token } }])).push();
      assert.equal(result.code !== 0, expectRefused, result.stderr);
      assert.equal((await tokenOf(bob, t.id)).active, !expectRefused);
    };
    const repo = async (pushProtection: string) => {
      const reply = await admin.patch<RepositoryDto>("/repositories/acme/widgets", { pushProtection });
      assert.equal(reply.status, 200);
      return reply.body;
    };
    assert.equal((await repo("false")).effectivePushProtection, false);
    await check(false);
    assert.equal((await admin.put("/settings/git", { pushProtection: false })).status, 200);
    assert.equal((await repo("inherit")).effectivePushProtection, false);
    await check(false);
    assert.equal((await repo("true")).effectivePushProtection, true);
    await check(true);
    assert.equal((await admin.put("/settings/git", { pushProtection: true })).status, 200);
    assert.equal((await repo("inherit")).effectivePushProtection, true);
    await check(true);
    // Bad input changes nothing.
    const bad = await admin.patch("/repositories/acme/widgets", { pushProtection: "maybe" });
    assert.equal(bad.status, 400);
    assert.equal((await alice.patch("/repositories/acme/widgets", { pushProtection: "false" })).status, 403);
    assert.equal((await admin.patch("/repositories/acme/widgets", {})).status, 400);
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items;
    assert.ok(events.some((e) => e.action === "repository.push_protection_changed"));
  });

  describe("expiry warnings inside git (push)", () => {
    it("a push with a token that expires within 7 days prints a remote: warning naming it, its expiry and how to rotate", async () => {
      const soon = await createToken(alice, { description: "build box", expiresInDays: 30 });
      const { dir, branch } = await branchWith([{}]);
      const withSoon = (args: string[]) => git(args, { cwd: dir });
      const soonUrl = remoteUrl(server.url, "acme/widgets", "alice", soon.token);
      let result = await withSoon(["push", soonUrl, branch]);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /expires on/, "no warning 30 days ahead");
      clock.advance(25 * DAY);
      try {
        await gitOk(["commit", "-q", "--allow-empty", "-m", "later"], { cwd: dir });
        result = await withSoon(["push", soonUrl, branch]);
        assert.equal(result.code, 0, result.stderr);
        const date = soon.expiresAt.slice(0, 10);
        assert.match(
          result.stderr,
          new RegExp(`remote: warning: your token "build box" expires on ${date} \\d\\d:\\d\\d UTC \\(in 5 days\\)`),
        );
        assert.match(result.stderr, new RegExp(`remote: warning: POST /api/v1/tokens/${soon.id}/rotate`));
        assert.match(result.stderr, /Rotate Token/);
        // A token of a normal lifetime warns on every push within the window.
        await gitOk(["commit", "-q", "--allow-empty", "-m", "later still"], { cwd: dir });
        result = await withSoon(["push", soonUrl, branch]);
        assert.match(result.stderr, /remote: warning: your token "build box" expires on/);
      } finally {
        clock.advance(-25 * DAY);
      }
    });

    it("shows the description as one line of plain text: no terminal escapes, bidi overrides or invisible characters", async () => {
      const tricky = await createToken(alice, {
        description: "ci \u001b[2J\u001b[31mred\u202egnp.exe\u2066x\u200b\ufeffend\nnext",
        expiresInDays: 30,
      });
      const { dir, branch } = await branchWith([{}]);
      clock.advance(25 * DAY);
      try {
        const result = await git(["push", remoteUrl(server.url, "acme/widgets", "alice", tricky.token), branch], { cwd: dir });
        assert.equal(result.code, 0, result.stderr);
        const line = result.stderr.split("\n").find((l) => l.includes("your token"));
        assert.ok(line, result.stderr);
        assert.ok(line.includes('your token "ci  [2J [31mred gnp.exe x  end next" expires on'), line);
        for (const hidden of ["\u001b", "\u202e", "\u2066", "\u200b", "\ufeff"]) assert.ok(!result.stderr.includes(hidden));
      } finally {
        clock.advance(-25 * DAY);
      }
    });

    it("a token made as short as the window warns once a day, not on every push", async () => {
      const short = await createToken(alice, { description: "one-week job", expiresInDays: 7 });
      const { dir, branch } = await branchWith([{}]);
      const shortUrl = remoteUrl(server.url, "acme/widgets", "alice", short.token);
      const pushOnce = async () => {
        await gitOk(["commit", "-q", "--allow-empty", "-m", "step"], { cwd: dir });
        const result = await git(["push", shortUrl, branch], { cwd: dir });
        assert.equal(result.code, 0, result.stderr);
        return /remote: warning: your token "one-week job" expires on/.test(result.stderr);
      };
      assert.equal(await pushOnce(), true, "the first push of the day warns");
      assert.equal(await pushOnce(), false, "the second does not");
      clock.advance(DAY + 60_000);
      try {
        assert.equal(await pushOnce(), true, "a day later it warns again");
        assert.equal(await pushOnce(), false);
      } finally {
        clock.advance(-(DAY + 60_000));
      }
    });
  });

  if (TEST_DB === "postgres") {
    it("a token deactivated by a refused push is refused at once by another instance that had it cached", async () => {
      const other = await startTestServer({ databaseUrl: server.config.databaseUrl, env: { REPOS_DIR: server.config.reposDir }, clock });
      try {
        const leaked = await createToken(bob, { repositories: [] });
        const viaOther = remoteUrl(other.url, "acme/widgets", "bob", leaked.token);
        // bob is no member: the token authenticates (403, not 401) — and is now cached there.
        const before = await git(["ls-remote", viaOther]);
        assert.match(before.stderr, /bob has no access/);
        const result = await (await branchWith([{ files: { "x.txt": leaked.token } }])).push();
        assert.notEqual(result.code, 0);
        const after = await git(["ls-remote", viaOther]);
        assert.match(after.stderr, /Authentication failed|deactivated/, after.stderr);
      } finally {
        await other.close();
      }
    });
  }
});
