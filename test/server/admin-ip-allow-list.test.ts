import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AuditEventDto, CreatedTokenDto, Page, TokenDto } from "@clarive/shared";
import { type Client, type ErrorReply, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, remoteUrl, tempDir, workingCopyWithCommit, gitOk } from "../support/git";
import { askHook, readRefs } from "../support/hook";
import { startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const REPO = readRefs("acme/widgets");

/** A GET of the git route from a client socket bound to `localAddress` (a second loopback address). */
function getFrom(url: string, localAddress: string, username: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      url,
      { localAddress, headers: { authorization: `Basic ${Buffer.from(`${username}:${token}`).toString("base64")}` } },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("error", reject);
  });
}

/**
 * A TCP relay whose connections to the service leave from `localAddress`: git cannot bind its
 * socket to an address, so it talks to the relay and the service sees the relay's bound socket.
 */
async function relayFrom(localAddress: string, target: URL): Promise<{ url: string; close: () => Promise<void> }> {
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port), localAddress });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const { port } = relay.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => relay.close(() => resolve())) };
}

async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} never happened`);
}

describe("per-token IP allow-lists and where a token was used (allowedIps, recentIps)", function () {
  this.timeout(120_000);
  /** With TRUST_PROXY: the auth hook's X-Forwarded-For is the client; without one, the socket's address is. */
  let server: TestServer;
  let admin: Client;
  let alice: Client;

  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: "true" } });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    await gitOk(["push", "-q", remoteUrl(server.url, "acme/widgets", "admin", (await createToken(admin)).token), "HEAD:main"], {
      cwd: await workingCopyWithCommit("http://unused.invalid/"),
    });
  });
  after(() => server.close());

  const withIps = (allowedIps: string[]) => createToken(alice, { description: "allow-listed", ...({ allowedIps } as object) });
  const events = async () => (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items;

  it("create and edit take IPv4, IPv6 and CIDR entries in normal form; an invalid entry is a 400 naming it and changes nothing", async () => {
    const token = await withIps(["192.0.2.9/24", "2001:DB8::/32", "203.0.113.7", "::ffff:198.51.100.1"]);
    assert.deepEqual(token.allowedIps, ["192.0.2.0/24", "2001:db8::/32", "203.0.113.7", "198.51.100.1"]);
    assert.deepEqual((await createToken(alice)).allowedIps, [], "absent = anywhere");
    const before = await server.knex("personal_access_tokens").count<{ count: string }[]>("* as count");
    for (const bad of ["10.0.0.0/33", "localhost", "127.1", "fe80::1%eth0"]) {
      const reply = await alice.post<ErrorReply>("/tokens", {
        description: "x",
        permission: "read",
        expiresInDays: 30,
        allowedIps: ["10.0.0.1", bad],
      });
      assert.equal(reply.status, 400, bad);
      assert.ok(reply.body.error.message.includes(`"${bad}"`), reply.body.error.message);
    }
    const tooMany = Array.from({ length: 21 }, (_, i) => `192.0.2.${i}`);
    assert.equal(
      (await alice.post("/tokens", { description: "x", permission: "read", expiresInDays: 30, allowedIps: tooMany })).status,
      400,
    );
    assert.deepEqual(await server.knex("personal_access_tokens").count<{ count: string }[]>("* as count"), before);
    const edited = await alice.patch<TokenDto>(`/tokens/${token.id}`, { allowedIps: ["127.0.0.0/8"] });
    assert.deepEqual(edited.body.allowedIps, ["127.0.0.0/8"]);
    const refused = await alice.patch<ErrorReply>(`/tokens/${token.id}`, { allowedIps: ["nope"] });
    assert.equal(refused.status, 400);
    assert.deepEqual((await alice.get<TokenDto>(`/tokens/${token.id}`)).body.allowedIps, ["127.0.0.0/8"], "unchanged");
    assert.ok((await events()).some((e) => e.action === "token.updated" && e.target === `token:${token.id}`));
  });

  it("a real git clone from 127.0.0.1 is refused outside the list (remote: the address) and allowed with 127.0.0.0/8", async () => {
    const token = await withIps(["192.0.2.0/24", "2001:db8::/32"]);
    const url = remoteUrl(server.url, "acme/widgets", "alice", token.token);
    const refused = await git(["clone", "-q", url, tempDir()]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /remote: This token cannot be used from 127\.0\.0\.1/);
    assert.equal((await alice.patch(`/tokens/${token.id}`, { allowedIps: ["127.0.0.0/8"] })).status, 200);
    const allowed = await git(["clone", "-q", url, tempDir()]);
    assert.equal(allowed.code, 0, allowed.stderr);
    // Emptied: anywhere again.
    await alice.patch(`/tokens/${token.id}`, { allowedIps: [] });
    assert.equal((await git(["clone", "-q", url, tempDir()])).code, 0);
  });

  it("the auth hook applies the same rule to the forwarded address with TRUST_PROXY (IPv4, IPv6, CIDR)", async () => {
    const token = await withIps(["192.0.2.0/24", "2001:db8::/32", "203.0.113.7"]);
    const ask = (ip: string) => askHook(server.url, { uri: REPO, user: "alice", token: token.token, ip });
    for (const ip of ["192.0.2.200", "2001:db8:1::5", "203.0.113.7"]) assert.equal((await ask(ip)).status, 204, ip);
    for (const ip of ["192.0.3.1", "2001:db9::5", "203.0.113.8"]) {
      const reply = await ask(ip);
      assert.equal(reply.status, 403, ip);
      assert.equal(reply.headers.get("x-clarive-reason"), `This token cannot be used from ${ip}`);
    }
    await alice.patch(`/tokens/${token.id}`, { allowedIps: ["198.51.100.0/24"] });
    assert.equal((await ask("192.0.2.200")).status, 403);
    assert.equal((await ask("198.51.100.20")).status, 204);
    // Refusals from elsewhere are audited but never lock the owner out.
    for (let i = 0; i < 15; i++) await ask("192.0.2.200");
    assert.equal((await ask("198.51.100.20")).status, 204);
    assert.ok((await events()).some((e) => e.action === "git.auth_failed" && e.details?.reason === "address not allowed"));
  });

  it("a use from a second loopback address (127.0.0.2, a bound client socket) writes token.used_from_new_ip once; recentIps lists both", async () => {
    const token = await createToken(alice, { description: "two addresses" });
    const url = `${server.url}${REPO}`;
    assert.equal((await getFrom(url, "127.0.0.1", "alice", token.token)).status, 200);
    const newIp = (list: AuditEventDto[]) => list.filter((e) => e.action === "token.used_from_new_ip" && e.target === `token:${token.id}`);
    await eventually("the first address's event", events, (list) => newIp(list).length === 1);
    assert.equal((await getFrom(url, "127.0.0.2", "alice", token.token)).status, 200);
    const list = newIp(await eventually("the second address's event", events, (l) => newIp(l).length === 2));
    assert.deepEqual(
      list.map((e) => [e.actor, e.ip]),
      [
        ["alice", "127.0.0.2"],
        ["alice", "127.0.0.1"],
      ],
    );
    // Again from either address: nothing new.
    assert.equal((await getFrom(url, "127.0.0.2", "alice", token.token)).status, 200);
    assert.equal((await getFrom(url, "127.0.0.1", "alice", token.token)).status, 200);
    const view = await eventually(
      "recentIps",
      async () => (await alice.get<TokenDto>(`/tokens/${token.id}`)).body,
      (t) => t.recentIps.length === 2,
    );
    assert.deepEqual(view.recentIps.map((r) => r.ip).sort(), ["127.0.0.1", "127.0.0.2"]);
    assert.ok(view.recentIps.every((r) => Date.parse(r.lastUsedAt) > Date.now() - 60_000));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(newIp(await events()).length, 2, "no event for an address already known");
  });

  it("git itself through a socket bound to 127.0.0.2: an allow-list of 127.0.0.2 lets it clone and refuses 127.0.0.1", async () => {
    const token: CreatedTokenDto = await withIps(["127.0.0.2"]);
    const relay = await relayFrom("127.0.0.2", new URL(server.url));
    try {
      const fromSecond = await git(["clone", "-q", remoteUrl(relay.url, "acme/widgets", "alice", token.token), tempDir()]);
      assert.equal(fromSecond.code, 0, fromSecond.stderr);
      const fromFirst = await git(["clone", "-q", remoteUrl(server.url, "acme/widgets", "alice", token.token), tempDir()]);
      assert.match(fromFirst.stderr, /remote: This token cannot be used from 127\.0\.0\.1/);
      await eventually(
        "recentIps 127.0.0.2",
        async () => (await alice.get<TokenDto>(`/tokens/${token.id}`)).body,
        (t) => t.recentIps.some((r) => r.ip === "127.0.0.2"),
      );
    } finally {
      await relay.close();
    }
  });

  it("keeps the last 5 distinct addresses, most recent first, with one token.used_from_new_ip each", async () => {
    const token = await createToken(alice, { description: "many places" });
    const ask = (ip: string) => askHook(server.url, { uri: REPO, user: "alice", token: token.token, ip });
    const addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1", "192.0.2.5", "192.0.2.6", "192.0.2.7"];
    for (const ip of addresses) {
      assert.equal((await ask(ip)).status, 204);
      // One at a time, so "most recent" is well defined (uses are written in batches).
      await eventually(
        `${ip} recorded`,
        async () => (await alice.get<TokenDto>(`/tokens/${token.id}`)).body,
        (t) => t.recentIps.some((r) => r.ip === ip),
      );
    }
    const view = (await alice.get<TokenDto>(`/tokens/${token.id}`)).body;
    assert.deepEqual(
      view.recentIps.map((r) => r.ip),
      ["192.0.2.7", "192.0.2.6", "192.0.2.5", "2001:db8::1", "192.0.2.3"],
    );
    const count = async () =>
      (await events()).filter((e) => e.action === "token.used_from_new_ip" && e.target === `token:${token.id}`).length;
    assert.equal(await count(), 7, "one event per new address");
  });

  if (TEST_DB === "postgres") {
    it("on another instance without TRUST_PROXY the forwarded address is not believed, and an edit applies before the answer", async () => {
      const direct = await startTestServer({ databaseUrl: server.config.databaseUrl });
      try {
        const token = await withIps(["192.0.2.0/24"]);
        const ask = (ip: string) => askHook(direct.url, { uri: REPO, user: "alice", token: token.token, ip });
        const refused = await ask("192.0.2.200");
        assert.equal(refused.status, 403);
        assert.equal(refused.headers.get("x-clarive-reason"), "This token cannot be used from 127.0.0.1");
        for (let round = 0; round < 10; round++) {
          await alice.patch(`/tokens/${token.id}`, { allowedIps: round % 2 ? ["192.0.2.0/24"] : ["127.0.0.1"] });
          assert.equal((await ask("192.0.2.200")).status, round % 2 ? 403 : 204, `round ${round}`);
        }
      } finally {
        await direct.close();
      }
    });
  }
});
