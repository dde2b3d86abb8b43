import assert from "node:assert/strict";
import type { AuditEventDto, CreatedTokenDto, Page, TokenDto } from "@clarive/shared";
import { type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, remoteUrl } from "../support/git";
import { readRefs } from "../support/hook";
import { snapshotDatabase } from "../support/snapshot";
import { MovableClock, startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const DAY = 86_400_000;
const MINUTE = 60_000;

describe("token rotation (POST /api/v1/tokens/{id}/rotate)", () => {
  const clock = new MovableClock();
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let bob: Client;

  before(async () => {
    server = await startTestServer({ clock });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    bob = await createUser(admin, server, "bob");
    await createRepository(admin, "acme", "widgets");
    await createRepository(admin, "acme", "gadgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await admin.put("/repositories/acme/gadgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
  });
  after(() => server.close());

  const gitStatus = async (token: string, on = server) =>
    (
      await fetch(`${on.url}${readRefs("acme/widgets")}`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${token}`).toString("base64")}` },
      })
    ).status;
  const rotate = (id: number, body: unknown = {}, as = alice) => as.post<CreatedTokenDto>(`/tokens/${id}/rotate`, body);

  it("gives the same token a new secret, shown once; the lifetime starts over; the new secret works at once", async () => {
    const t = await createToken(alice, { description: "ci", repositories: ["acme/widgets"], permission: "read", expiresInDays: 30 });
    clock.advance(10 * DAY);
    const reply = await rotate(t.id);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers.get("cache-control"), "no-store");
    const rotated = reply.body;
    assert.match(rotated.token, /^clapat_[0-9A-Za-z]{36}$/);
    assert.notEqual(rotated.token, t.token);
    assert.equal(rotated.hint, `clapat_…${rotated.token.slice(-4)}`);
    const { id, description, repositories, permission } = rotated;
    assert.deepEqual(
      { id, description, repositories, permission },
      { id: t.id, description: "ci", repositories: ["acme/widgets"], permission: "read" },
    );
    const expiresIn = Date.parse(rotated.expiresAt) - clock.now();
    assert.ok(Math.abs(expiresIn - 30 * DAY) < MINUTE, `30 days again, not ${expiresIn / DAY}`);
    assert.ok(rotated.rotatedAt);
    assert.equal(rotated.reuseDetectedAt, null);
    const listed = (await alice.get<TokenDto[]>("/tokens")).body.find((x) => x.id === t.id);
    assert.ok(listed && !("token" in listed), "listings never show the secret");
    await gitOk(["ls-remote", remoteUrl(server.url, "acme/widgets", "alice", rotated.token)]);
  });

  it("the old secret keeps working inside the grace window, then gets 401 and its use is recorded as reuse", async () => {
    const t = await createToken(alice);
    assert.equal(await gitStatus(t.token), 200); // cached on this instance before the rotation
    const rotated = (await rotate(t.id, { graceMinutes: 60 })).body;
    assert.equal(await gitStatus(t.token), 200, "inside the window");
    assert.equal(await gitStatus(rotated.token), 200);
    clock.advance(59 * MINUTE);
    assert.equal(await gitStatus(t.token), 200, "a minute before the end");
    clock.advance(2 * MINUTE);
    const refused = await git(["ls-remote", remoteUrl(server.url, "acme/widgets", "alice", t.token)]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Authentication failed/);
    assert.equal(await gitStatus(rotated.token), 200, "the new secret is untouched");
    const seen = (await alice.get<TokenDto>(`/tokens/${t.id}`)).body;
    assert.ok(seen.reuseDetectedAt, "the owner sees the reuse");
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=100")).body.items;
    const reuse = events.find((e) => e.action === "token.reuse_detected" && e.target === `token:${t.id}`);
    assert.ok(reuse, "audited");
    assert.equal(reuse.ip, "127.0.0.1");
    assert.ok(events.some((e) => e.action === "token.rotated" && e.target === `token:${t.id}` && e.details?.graceMinutes === 60));
    assert.ok(!JSON.stringify(events).includes(t.token) && !JSON.stringify(events).includes(rotated.token));
  });

  it("without a grace window the old secret stops at once; no rotated-out secret ever works again", async () => {
    const t = await createToken(alice);
    const secrets = [t.token];
    for (let i = 0; i < 3; i++) secrets.push((await rotate(t.id)).body.token);
    const current = secrets.pop() as string;
    clock.advance(400 * DAY); // long after, and past the token's own expiry: rotate once more
    const latest = (await rotate(t.id, { graceMinutes: 1440 })).body.token;
    for (const old of secrets) assert.equal(await gitStatus(old), 401, "a rotated-out secret");
    assert.equal(await gitStatus(current), 200, "the previous secret, inside its 1440-minute window");
    assert.equal(await gitStatus(latest), 200);
    clock.advance(1441 * MINUTE);
    assert.equal(await gitStatus(current), 401);
    assert.equal(await gitStatus(latest), 200);
  });

  it("caps the restarted lifetime at maxLifetimeDays", async () => {
    const t = await createToken(alice, { expiresInDays: 365 });
    await admin.put("/settings/git", { maxLifetimeDays: 30 });
    try {
      const rotated = (await rotate(t.id)).body;
      const expiresIn = Date.parse(rotated.expiresAt) - clock.now();
      assert.ok(Math.abs(expiresIn - 30 * DAY) < MINUTE, `${expiresIn / DAY} days`);
    } finally {
      await admin.put("/settings/git", { maxLifetimeDays: 730 });
    }
  });

  it("another user's token is 404, bad grace windows are 400, and neither changes anything", async () => {
    const t = await createToken(alice);
    const before = await snapshotDatabase(server.knex);
    assert.equal((await rotate(t.id, {}, bob)).status, 404);
    assert.equal((await rotate(999_999)).status, 404);
    for (const graceMinutes of [-1, 1441, 1.5, "60", null])
      assert.equal((await rotate(t.id, { graceMinutes })).status, 400, String(graceMinutes));
    assert.equal((await rotate(t.id, { graceMinutes: 5, extra: 1 })).status, 400);
    assert.equal(await snapshotDatabase(server.knex), before);
    assert.equal(await gitStatus(t.token), 200);
  });

  if (TEST_DB === "postgres") {
    it("on another instance, the old secret is refused the moment the rotation answered", async () => {
      const second = await startTestServer({ databaseUrl: server.config.databaseUrl, env: { REPOS_DIR: server.config.reposDir }, clock });
      try {
        for (let round = 0; round < 20; round++) {
          const t = await createToken(alice);
          assert.equal(await gitStatus(t.token, second), 200);
          const rotated = (await rotate(t.id)).body;
          assert.equal(await gitStatus(t.token, second), 401, `round ${round}`);
          assert.equal(await gitStatus(rotated.token, second), 200);
        }
      } finally {
        await second.close();
      }
    });
  }
});
