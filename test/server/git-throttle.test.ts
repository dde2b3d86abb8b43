import assert from "node:assert/strict";
import type { AuditEventDto, Page } from "@clarive/shared";
import { generatePersonalAccessToken } from "@clarive/shared";
import { type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { askHook, readRefs } from "../support/hook";
import { DEFAULT_THROTTLE, startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const REPO = readRefs("acme/widgets");

describe("throttling failed git logins (10 per username and address, 100 per address, in 5 minutes → 429 for a cool-down)", () => {
  let server: TestServer;
  let admin: Client;
  let token: string;

  before(async () => {
    server = await startTestServer({ throttle: DEFAULT_THROTTLE, env: { TRUST_PROXY: "true" } });
    admin = await loginAdmin(server);
    const alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    token = (await createToken(alice)).token;
  });
  after(() => server.close());

  const fail = (user: string, ip: string) => askHook(server.url, { uri: REPO, user, token: generatePersonalAccessToken(), ip });

  it("git's anonymous first request never counts", async () => {
    for (let i = 0; i < 15; i++) assert.equal((await askHook(server.url, { uri: REPO, ip: "192.0.2.1" })).status, 401);
    assert.equal((await askHook(server.url, { uri: REPO, user: "alice", token, ip: "192.0.2.1" })).status, 204);
  });

  it("blocks a username at one address after 10 failures, even with the right token; from another address it still works", async () => {
    for (let i = 0; i < 10; i++) assert.equal((await fail("alice", "192.0.2.10")).status, 401, `failure ${i + 1}`);
    // Directly on the git route (429 with Retry-After) and through the hook (403 for auth_request).
    const direct = await fetch(`${server.url}${REPO}`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${token}`).toString("base64")}`, "x-forwarded-for": "192.0.2.10" },
    });
    assert.equal(direct.status, 429);
    const retryAfter = Number(direct.headers.get("retry-after"));
    assert.ok(retryAfter > 240 && retryAfter <= 300, `Retry-After ${retryAfter}`);
    assert.equal((await askHook(server.url, { uri: REPO, user: "alice", token, ip: "192.0.2.10" })).status, 403);
    // Nobody can lock alice out from everywhere: her own machine still gets in.
    assert.equal((await askHook(server.url, { uri: REPO, user: "alice", token, ip: "192.0.2.99" })).status, 204);
    // Other users at that address are not affected (the address has 10 of its 100).
    assert.equal((await fail("bob", "192.0.2.10")).status, 401);
  });

  it("blocks an address after 100 failures, whatever the usernames; another address is not", async () => {
    for (let i = 0; i < 100; i++) assert.equal((await fail(`user${i % 50}`, "198.51.100.7")).status, 401, `failure ${i + 1}`);
    assert.equal((await fail("oscar", "198.51.100.7")).status, 403, "blocked (429 on the git route)");
    assert.equal((await fail("oscar", "198.51.100.8")).status, 401, "another address is not");
  });

  it("a success resets the counters", async () => {
    const peggy = await createUser(admin, server, "peggy");
    await admin.put("/repositories/acme/widgets/members/peggy", { access: "read" });
    const peggyToken = (await createToken(peggy)).token;
    const succeed = () => askHook(server.url, { uri: REPO, user: "peggy", token: peggyToken, ip: "203.0.113.5" });
    for (let i = 0; i < 9; i++) assert.equal((await fail("peggy", "203.0.113.5")).status, 401);
    assert.equal((await succeed()).status, 204);
    for (let i = 0; i < 9; i++) assert.equal((await fail("peggy", "203.0.113.5")).status, 401, `after reset ${i + 1}`);
    assert.equal((await succeed()).status, 204, "9 + 9 failures with a success between never reach 10");
  });

  it("forgets counters whose window and cool-down are over", async () => {
    await fail("stale-user", "192.0.2.240");
    const keys = ["ip:192.0.2.240", "login:192.0.2.240 stale-user"];
    assert.equal((await server.knex("auth_throttle").whereIn("key", keys)).length, 2);
    // Age them past the 5-minute window (no cool-down was reached).
    await server
      .knex("auth_throttle")
      .whereIn("key", keys)
      .update({ window_started_at: new Date(Date.now() - 301_000) });
    const { pruneExpiredThrottles } = await import("../../server/src/repositories/gitAuth");
    await pruneExpiredThrottles(server.knex, DEFAULT_THROTTLE.windowSeconds);
    assert.equal((await server.knex("auth_throttle").whereIn("key", keys)).length, 0);
    assert.ok((await server.knex("auth_throttle").where("key", "login:192.0.2.10 alice")).length === 1, "blocked keys stay");
  });

  it("failures are audit events", async () => {
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items.filter((e) => e.action === "git.auth_failed");
    assert.ok(events.length >= 30);
    assert.ok(events.some((e) => e.actor === "alice" && e.ip === "192.0.2.10"));
  });

  if (TEST_DB === "postgres") {
    it("counters are shared by all instances on one Postgres", async () => {
      const second = await startTestServer({
        databaseUrl: server.config.databaseUrl,
        throttle: DEFAULT_THROTTLE,
        env: { TRUST_PROXY: "true" },
      });
      try {
        for (let i = 0; i < 5; i++) await fail("dave", "192.0.2.200");
        for (let i = 0; i < 5; i++) {
          await askHook(second.url, { uri: REPO, user: "dave", token: generatePersonalAccessToken(), ip: "192.0.2.200" });
        }
        // Blocked on both instances: the first one learnt of the second's failures through NOTIFY.
        await new Promise((r) => setTimeout(r, 200));
        assert.equal((await fail("dave", "192.0.2.200")).status, 403);
        assert.equal((await askHook(second.url, { uri: REPO, user: "dave", token: "x", ip: "192.0.2.200" })).status, 403);
      } finally {
        await second.close();
      }
    });
  }
});
