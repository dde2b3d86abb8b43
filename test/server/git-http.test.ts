import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AuditEventDto, Page, TokenDto } from "@clarive/shared";
import { generatePersonalAccessToken } from "@clarive/shared";
import { alterLastCharacter, type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { askHook, readRefs } from "../support/hook";
import { git, gitOk, refOnDisk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { startTestServer, type TestServer } from "../support/testServer";

describe("git over HTTP", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let bob: Client;
  let aliceRw: string;
  let aliceRo: string;
  const bare = (fullName: string) => path.join(server.config.reposDir, `${fullName}.git`);
  const url = (fullName: string, user?: string, token?: string) => remoteUrl(server.url, fullName, user, token);

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    bob = await createUser(admin, server, "bob");
    for (const name of ["widgets", "gadgets", "locked", "open"]) await createRepository(admin, "acme", name);
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await admin.put("/repositories/acme/gadgets/members/alice", { access: "read" });
    await admin.put("/repositories/acme/locked/members/alice", { access: "write" });
    await admin.put("/repositories/acme/open/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    aliceRw = (await createToken(alice, { description: "rw", permission: "read-write" })).token;
    aliceRo = (await createToken(alice, { description: "ro", permission: "read" })).token;
    const adminToken = (await createToken(admin)).token;
    for (const name of ["widgets", "gadgets", "locked", "open"]) {
      const wc = await workingCopyWithCommit(url(`acme/${name}`, "admin", adminToken));
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
    }
    await admin.patch("/repositories/acme/locked", { patAccess: "false" });
    await admin.patch("/repositories/acme/open", { patAccess: "true" });
  });
  after(() => server.close());

  it("no credentials: 401 with a Basic challenge, not counted as a failed login", async () => {
    const reply = await fetch(`${server.url}/git/acme/widgets.git/info/refs?service=git-upload-pack`);
    assert.equal(reply.status, 401);
    assert.equal(reply.headers.get("www-authenticate"), 'Basic realm="Clarive"');
    const failures = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items.filter((e) => e.action === "git.auth_failed");
    assert.equal(failures.length, 0);
  });

  it("a read & write token clones and pushes; the ref moves", async () => {
    const dir = tempDir();
    await gitOk(["clone", "-q", url("acme/widgets", "alice", aliceRw), dir]);
    assert.ok(fs.existsSync(path.join(dir, "README")));
    fs.writeFileSync(path.join(dir, "change"), "by alice\n");
    await gitOk(["add", "."], { cwd: dir });
    await gitOk(["commit", "-qm", "alice"], { cwd: dir });
    await gitOk(["push", "-q", "origin", "main"], { cwd: dir });
    assert.equal(await refOnDisk(bare("acme/widgets")), (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim());
  });

  it("a read-only token clones and fetches, but its push is refused with the reason and no ref moves", async () => {
    const dir = tempDir();
    await gitOk(["clone", "-q", url("acme/widgets", "alice", aliceRo), dir]);
    await gitOk(["fetch", "-q", "origin"], { cwd: dir });
    const before = await refOnDisk(bare("acme/widgets"));
    fs.writeFileSync(path.join(dir, "nope"), "x\n");
    await gitOk(["add", "."], { cwd: dir });
    await gitOk(["commit", "-qm", "nope"], { cwd: dir });
    const push = await git(["push", "origin", "main"], { cwd: dir });
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /remote: This token is read-only: pushing needs a read & write token/);
    assert.match(push.stderr, /403/);
    assert.equal(await refOnDisk(bare("acme/widgets")), before);
  });

  describe("401: the credentials are no good (git forgets them)", () => {
    const lsRemote401 = async (user: string, token: string) => {
      const result = await git(["ls-remote", url("acme/widgets", user, token)]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Authentication failed/, result.stderr);
    };

    it("an unknown token", () => lsRemote401("alice", generatePersonalAccessToken()));

    it("a malformed token or a bad checksum, rejected without looking tokens up", async () => {
      const queries: string[] = [];
      const onQuery = (q: { sql: string }) => queries.push(q.sql);
      server.knex.on("query", onQuery);
      try {
        await lsRemote401("alice", "not-a-token");
        await lsRemote401("alice", alterLastCharacter(aliceRw));
      } finally {
        server.knex.off("query", onQuery);
      }
      assert.ok(queries.length > 0, "the failures themselves are recorded");
      assert.deepEqual(
        queries.filter((sql) => sql.includes("personal_access_tokens")),
        [],
      );
    });

    it("a valid token with another user's name", () => lsRemote401("bob", aliceRw));

    it("an API key used as the password", async () => lsRemote401("alice", alice.apiKey ?? ""));

    it("an expired token", async () => {
      const t = await createToken(alice, { description: "expired" });
      await server
        .knex("personal_access_tokens")
        .where({ id: t.id })
        .update({ expires_at: new Date(Date.now() - 1000) });
      await lsRemote401("alice", t.token);
    });

    it("an inactive token", async () => {
      const t = await createToken(alice, { description: "inactive" });
      await gitOk(["ls-remote", url("acme/widgets", "alice", t.token)]);
      await alice.patch(`/tokens/${t.id}`, { active: false });
      await lsRemote401("alice", t.token);
    });

    it("a token whose owner was deactivated", async () => {
      const carol = await createUser(admin, server, "carol");
      await admin.put("/repositories/acme/widgets/members/carol", { access: "read" });
      const t = await createToken(carol);
      await gitOk(["ls-remote", url("acme/widgets", "carol", t.token)]);
      await admin.patch("/users/carol", { active: false });
      await lsRemote401("carol", t.token);
    });

    it("a token sent as the username is refused and never stored, not even in the audit trail", async () => {
      const result = await git(["ls-remote", url("acme/widgets", aliceRw, "")]);
      assert.notEqual(result.code, 0);
      const stored = JSON.stringify(await Promise.all(["audit_events", "auth_throttle"].map((table) => server.knex(table).select())));
      assert.ok(!stored.toLowerCase().includes(aliceRw.slice(7).toLowerCase()), "no trace of the token, in any letter case");
      const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items;
      assert.ok(events.some((e) => e.details?.reason === "token sent as the username" && e.actor === `clapat_…${aliceRw.slice(-4)}`));
    });

    it("every failure is an audit event with the reason", async () => {
      const reasons = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items
        .filter((e) => e.action === "git.auth_failed")
        .map((e) => e.details?.reason);
      for (const reason of [
        "unknown token",
        "malformed token",
        "token used with another username",
        "API key used for git",
        "token expired",
        "token inactive",
        "owner deactivated",
      ]) {
        assert.ok(reasons.includes(reason), reason);
      }
    });
  });

  describe("403: good credentials, not allowed here (git prints the reason)", () => {
    const refused = async (fullName: string, user: string, token: string, reason: RegExp, push = false) => {
      let result;
      if (push) {
        const dir = await workingCopyWithCommit(url(fullName, user, token), "pushed", `${Math.random()}\n`);
        result = await git(["push", "origin", "HEAD:refs/heads/other"], { cwd: dir });
      } else {
        result = await git(["ls-remote", url(fullName, user, token)]);
      }
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /403/);
      assert.match(result.stderr, reason);
      if (push) assert.equal(await refOnDisk(bare(fullName), "refs/heads/other"), null);
    };

    it("PAT auth off globally and the repository inherits", async () => {
      await setPatAuth(admin, false);
      try {
        await refused("acme/widgets", "alice", aliceRw, /remote: Personal access tokens are not allowed for acme\/widgets/);
        // pat_access = true overrides the global switch.
        await gitOk(["ls-remote", url("acme/open", "alice", aliceRw)]);
      } finally {
        await setPatAuth(admin, true);
      }
    });

    it("pat_access = false overrides the global switch being on", () =>
      refused("acme/locked", "alice", aliceRw, /remote: Personal access tokens are not allowed for acme\/locked/));

    it("a repository outside the token's scope", async () => {
      const scoped = await createToken(alice, { repositories: ["acme/gadgets"] });
      await gitOk(["ls-remote", url("acme/gadgets", "alice", scoped.token)]);
      await refused("acme/widgets", "alice", scoped.token, /remote: This token does not grant access to acme\/widgets/);
    });

    it("an owner without membership", async () => {
      const t = await createToken(bob);
      await refused("acme/widgets", "bob", t.token, /remote: bob has no access to acme\/widgets/);
    });

    it("an owner with read-only membership pushing", () =>
      refused("acme/gadgets", "alice", aliceRw, /remote: alice has read-only access to acme\/gadgets/, true));

    it("a read-only token pushing", () => refused("acme/widgets", "alice", aliceRo, /remote: This token is read-only/, true));
  });

  it("an unknown repository with valid credentials is 404", async () => {
    const result = await git(["ls-remote", url("acme/nothing", "alice", aliceRw)]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not found|404/);
    const reply = await fetch(`${server.url}/git/acme/nothing.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${aliceRw}`).toString("base64")}` },
    });
    assert.equal(reply.status, 404);
  });

  it("refuses dumb HTTP and unknown services before authenticating", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`alice:${aliceRw}`).toString("base64")}` };
    const cases: [string, string, number][] = [
      ["GET", "/git/acme/widgets.git/info/refs", 403],
      ["GET", "/git/acme/widgets.git/info/refs?service=git-upload-archive", 403],
      ["GET", "/git/acme/widgets.git/HEAD", 404],
      ["GET", "/git/acme/widgets.git/objects/info/packs", 404],
      ["GET", "/git/acme/widgets.git/git-upload-pack", 405],
      ["POST", "/git/acme/widgets.git/info/refs?service=git-upload-pack", 405],
      ["GET", "/git/acme/..%2Fsecret.git/info/refs?service=git-upload-pack", 404],
    ];
    for (const [method, pathname, status] of cases) {
      const reply = await fetch(`${server.url}${pathname}`, { method, headers: auth });
      assert.equal(reply.status, status, `${method} ${pathname}`);
      assert.match(reply.headers.get("content-type") ?? "", /text\/plain/);
    }
  });

  it("reads each URL one way: any other shape is 404 before authentication, a repeated service= is refused", async () => {
    // Raw paths: fetch() and a URL string would resolve the dot segments before sending.
    const send = (pathname: string, authorization?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(server.url);
        const request = http.request({ hostname, port, path: pathname, headers: authorization ? { authorization } : {} }, (reply) => {
          let body = "";
          reply.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          reply.on("end", () => resolve({ status: reply.statusCode ?? 0, body }));
        });
        request.on("error", reject);
        request.end();
      });
    const readOnly = `Basic ${Buffer.from(`alice:${aliceRo}`).toString("base64")}`;
    for (const pathname of [
      "/git/acme/../acme/widgets.git/info/refs?service=git-upload-pack",
      "/git/x/y/acme/widgets.git/info/refs?service=git-upload-pack",
      "/git/acme/widgets%2Egit/info/refs?service=git-upload-pack",
      "/git//acme/widgets.git/info/refs?service=git-upload-pack",
    ]) {
      assert.equal((await send(pathname)).status, 404, `${pathname} without credentials`);
      assert.equal((await send(pathname, readOnly)).status, 404, `${pathname} with credentials`);
    }
    // The hook once read the first service and git the last: a read-only token got the push advertisement.
    const twice = await send("/git/acme/widgets.git/info/refs?service=git-upload-pack&service=git-receive-pack", readOnly);
    assert.equal(twice.status, 400);
    assert.match(twice.body, /service parameter once/);
  });

  it("the auth hook believes no forwarded client address without TRUST_PROXY", async () => {
    const t = await createToken(alice, { permission: "read" });
    const reply = await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: t.token, ip: "203.0.113.77" });
    assert.equal(reply.status, 204);
    let seen: TokenDto | undefined;
    for (let i = 0; i < 100 && !seen?.lastUsedIp; i++) {
      seen = (await alice.get<TokenDto>(`/tokens/${t.id}`)).body;
      if (!seen.lastUsedIp) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(seen?.lastUsedIp, "127.0.0.1", "the peer, not the X-Forwarded-For a client sent");
  });

  it("works with and without .git in the URL, and with protocol v2", async () => {
    const plain = `${server.url.replace("http://", "http://alice:" + aliceRw + "@")}/git/acme/widgets`;
    const v0 = await gitOk(["-c", "protocol.version=0", "ls-remote", plain]);
    const dir = tempDir();
    await gitOk(["init", "-q", dir]);
    const v2 = await git(["-c", "protocol.version=2", "fetch", url("acme/widgets", "alice", aliceRw), "main"], {
      cwd: dir,
      env: { GIT_TRACE_PACKET: "1" },
    });
    assert.equal(v2.code, 0, v2.stderr);
    assert.match(v2.stderr, /git< version 2/);
    assert.equal((await gitOk(["rev-parse", "FETCH_HEAD"], { cwd: dir })).trim(), /^([0-9a-f]{40})\trefs\/heads\/main$/m.exec(v0)?.[1]);
  });

  it("protocol v2's capability advertisement follows the repository's git configuration at once", async () => {
    const advertise = async () => {
      const reply = await fetch(`${server.url}/git/acme/widgets.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${aliceRw}`).toString("base64")}`, "git-protocol": "version=2" },
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get("content-type"), "application/x-git-upload-pack-advertisement");
      assert.equal(reply.headers.get("cache-control"), "no-cache, max-age=0, must-revalidate");
      return reply.text();
    };
    const config = (...args: string[]) => gitOk(["config", "--file", path.join(bare("acme/widgets"), "config"), ...args]);
    const before = await advertise();
    assert.match(before, /^000eversion 2\n/);
    assert.equal(await advertise(), before, "the same answer again");
    assert.doesNotMatch(before, /fetch=[^\n]*filter/);
    await config("uploadpack.allowFilter", "true");
    try {
      assert.match(await advertise(), /fetch=[^\n]*filter/, "a capability turned on is advertised on the next request");
      // A session id is per git process: such answers are never shared between requests.
      await config("transfer.advertiseSID", "true");
      const [first, second] = [await advertise(), await advertise()];
      assert.match(first, /session-id=/);
      assert.notEqual(first, second);
    } finally {
      await config("--unset", "uploadpack.allowFilter");
      await config("--unset", "transfer.advertiseSID");
    }
    assert.equal(await advertise(), before, "and the capability turned off again is gone");
    // git itself still fetches with it, from the answer kept in memory.
    const dir = tempDir();
    await gitOk(["init", "-q", dir]);
    const v2 = await git(["-c", "protocol.version=2", "fetch", url("acme/widgets", "alice", aliceRw), "main"], { cwd: dir });
    assert.equal(v2.code, 0, v2.stderr);
  });

  it("records last use (time and IP) at most once a minute, visible in GET /tokens", async () => {
    const t = await createToken(alice, { description: "usage" });
    const lastUsed = async () => (await alice.get<TokenDto>(`/tokens/${t.id}`)).body;
    assert.equal((await lastUsed()).lastUsedAt, null);
    await gitOk(["ls-remote", url("acme/widgets", "alice", t.token)]);
    let first: TokenDto | undefined;
    for (let i = 0; i < 50 && !first?.lastUsedAt; i++) {
      first = await lastUsed();
      if (!first.lastUsedAt) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(first?.lastUsedAt, "last use recorded");
    assert.equal(first?.lastUsedIp, "127.0.0.1");
    await gitOk(["ls-remote", url("acme/widgets", "alice", t.token)]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await lastUsed()).lastUsedAt, first?.lastUsedAt, "a second use within the minute writes nothing");
  });

  it("deactivating or deleting a token makes the very next request fail", async () => {
    const t = await createToken(alice, { description: "revoke me" });
    const remote = url("acme/widgets", "alice", t.token);
    await gitOk(["ls-remote", remote]);
    await alice.patch(`/tokens/${t.id}`, { active: false });
    assert.notEqual((await git(["ls-remote", remote])).code, 0);
    await alice.patch(`/tokens/${t.id}`, { active: true });
    await gitOk(["ls-remote", remote]);
    await alice.delete(`/tokens/${t.id}`);
    assert.notEqual((await git(["ls-remote", remote])).code, 0);
  });

  it("membership and scope changes apply to the very next request", async () => {
    const t = await createToken(alice, { description: "scope", repositories: ["acme/widgets"] });
    const remote = url("acme/widgets", "alice", t.token);
    await gitOk(["ls-remote", remote]);
    await alice.patch(`/tokens/${t.id}`, { repositories: ["acme/gadgets"] });
    assert.match((await git(["ls-remote", remote])).stderr, /does not grant access/);
    await alice.patch(`/tokens/${t.id}`, { repositories: [] });
    await gitOk(["ls-remote", remote]);
    await admin.delete("/repositories/acme/widgets/members/alice");
    assert.match((await git(["ls-remote", remote])).stderr, /alice has no access/);
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await gitOk(["ls-remote", remote]);
  });
});
