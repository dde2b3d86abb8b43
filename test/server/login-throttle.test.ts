import assert from "node:assert/strict";
import type { LoginResponse } from "@clarive/shared";
import { generatePersonalAccessToken } from "@clarive/shared";
import { Client, type ErrorReply, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { askHook, readRefs } from "../support/hook";
import { DEFAULT_THROTTLE, MovableClock, startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const REPO = readRefs("acme/widgets");
const DAY = 86_400_000;

describe("login throttling, REST and git alike (10 per username and address, 100 per address, 5 minutes)", function () {
  this.timeout(120_000);
  let server: TestServer;
  let admin: Client;
  const clock = new MovableClock();

  before(async () => {
    server = await startTestServer({ throttle: DEFAULT_THROTTLE, env: { TRUST_PROXY: "true" }, clock });
    admin = await loginAdmin(server);
    for (const name of ["alice", "bob", "carol", "dave", "erin"]) {
      await createUser(admin, server, name);
    }
    await createRepository(admin, "acme", "widgets");
    for (const name of ["alice", "bob", "carol", "dave", "erin"])
      await admin.put(`/repositories/acme/widgets/members/${name}`, { access: "read" });
    await setPatAuth(admin, true);
  });
  after(() => server.close());

  const restLogin = (username: string, password: string, ip: string) =>
    new Client(server.url).request<LoginResponse & ErrorReply>("POST", "/auth/login", { username, password }, { "x-forwarded-for": ip });
  const signIn = async (username: string, password: string): Promise<Client> => {
    const reply = await restLogin(username, password, "127.0.0.1");
    return new Client(server.url, reply.body.apiKey);
  };

  it("REST: 10 wrong passwords for one user from one address → 429 with Retry-After, even for the right one; another address still logs in", async () => {
    for (let i = 0; i < 10; i++) assert.equal((await restLogin("alice", "wrong", "192.0.2.1")).status, 401, `failure ${i + 1}`);
    const blocked = await restLogin("alice", "alice-password", "192.0.2.1");
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, "too_many_requests");
    const retryAfter = Number(blocked.headers.get("retry-after"));
    assert.ok(retryAfter > 240 && retryAfter <= 300, `Retry-After ${retryAfter}`);
    assert.equal((await restLogin("ALICE", "alice-password", "192.0.2.1")).status, 429, "usernames in any case");
    assert.equal((await restLogin("alice", "alice-password", "192.0.2.2")).status, 201, "the same user from another address");
    assert.equal((await restLogin("bob", "bob-password", "192.0.2.1")).status, 201, "another user from that address");
  });

  it("REST: 100 failures from one address across usernames → 429 for that address; another address is not", async () => {
    for (let i = 0; i < 100; i++)
      assert.equal((await restLogin(`nobody${i % 40}`, "wrong", "198.51.100.1")).status, 401, `failure ${i + 1}`);
    assert.equal((await restLogin("carol", "carol-password", "198.51.100.1")).status, 429);
    assert.equal((await restLogin("carol", "carol-password", "198.51.100.2")).status, 201);
  });

  it("REST: a success resets the username's counter at that address, never the address's own", async () => {
    for (let i = 0; i < 9; i++) await restLogin("dave", "wrong", "203.0.113.1");
    assert.equal((await restLogin("dave", "dave-password", "203.0.113.1")).status, 201);
    for (let i = 0; i < 9; i++) assert.equal((await restLogin("dave", "wrong", "203.0.113.1")).status, 401);
    const row: { failures: number } | undefined = await server.knex("auth_throttle").where("key", "ip:203.0.113.1").first("failures");
    assert.equal(row?.failures, 18, "the address keeps counting: one good account cannot reset it");
  });

  it("REST and git count on the same counters", async () => {
    for (let i = 0; i < 5; i++) assert.equal((await restLogin("erin", "wrong", "203.0.113.50")).status, 401);
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await askHook(server.url, { uri: REPO, user: "erin", token: generatePersonalAccessToken(), ip: "203.0.113.50" })).status,
        401,
      );
    }
    assert.equal((await restLogin("erin", "erin-password", "203.0.113.50")).status, 429);
    const erin = await signIn("erin", "erin-password");
    const token = await createToken(erin);
    assert.equal((await askHook(server.url, { uri: REPO, user: "erin", token: token.token, ip: "203.0.113.50" })).status, 403, "git too");
  });

  it("git: a token that exists but is deactivated, deleted or expired is no guess: retrying it never locks its owner out", async () => {
    const bob = await signIn("bob", "bob-password");
    const ip = "192.0.2.77";
    const deactivated = await createToken(bob, { description: "revoked" });
    await bob.patch(`/tokens/${deactivated.id}`, { active: false });
    const deleted = await createToken(bob, { description: "deleted" });
    await bob.delete(`/tokens/${deleted.id}`);
    const rotated = await createToken(bob, { description: "rotated" });
    await bob.post(`/tokens/${rotated.id}/rotate`, {});
    const expiring = await createToken(bob, { description: "expiring", expiresInDays: 7 });
    clock.advance(8 * DAY);
    try {
      for (const old of [deactivated, deleted, rotated, expiring]) {
        for (let i = 0; i < 15; i++) {
          const reply = await askHook(server.url, { uri: REPO, user: "bob", token: old.token, ip });
          assert.equal(reply.status, 401, `${old.description} ${i + 1}: refused, so git forgets it`);
        }
      }
    } finally {
      clock.advance(-8 * DAY);
    }
    // The owner's new token works at once from the same address: nothing was counted.
    const fresh = await createToken(bob, { description: "fresh" });
    assert.equal((await askHook(server.url, { uri: REPO, user: "bob", token: fresh.token, ip })).status, 204);
    assert.equal(
      await server
        .knex("auth_throttle")
        .whereIn("key", [`ip:${ip}`, `login:${ip} bob`])
        .first(),
      undefined,
    );
    // An unknown secret still counts.
    for (let i = 0; i < 10; i++) await askHook(server.url, { uri: REPO, user: "bob", token: generatePersonalAccessToken(), ip });
    assert.equal((await askHook(server.url, { uri: REPO, user: "bob", token: fresh.token, ip })).status, 403, "now blocked (429 on git)");
  });

  if (TEST_DB === "postgres") {
    it("REST failures on one instance block the login on another (shared counters)", async () => {
      const second = await startTestServer({
        databaseUrl: server.config.databaseUrl,
        throttle: DEFAULT_THROTTLE,
        env: { TRUST_PROXY: "true" },
      });
      try {
        const onSecond = (password: string) =>
          new Client(second.url).request("POST", "/auth/login", { username: "carol", password }, { "x-forwarded-for": "192.0.2.250" });
        for (let i = 0; i < 5; i++) assert.equal((await restLogin("carol", "wrong", "192.0.2.250")).status, 401);
        for (let i = 0; i < 5; i++) assert.equal((await onSecond("wrong")).status, 401);
        assert.equal((await onSecond("carol-password")).status, 429);
        assert.equal((await restLogin("carol", "carol-password", "192.0.2.250")).status, 429);
      } finally {
        await second.close();
      }
    });
  }
});
