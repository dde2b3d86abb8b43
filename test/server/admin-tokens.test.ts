import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AdminTokenDto, AdminTokenPage, AuditEventDto, Page } from "@clarive/shared";
import {
  type Client,
  type ErrorReply,
  type Reply,
  createRepository,
  createToken,
  createUser,
  loginAdmin,
  setPatAuth,
} from "../support/client";
import { askHook, readRefs } from "../support/hook";
import { startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const DAY = 86_400_000;
const SEEDED = 300;

interface Seed {
  id: number;
  username: string;
  active: boolean;
  expiresAt: number;
  lastUsedAt: number | null;
  lifetimeDays: number;
  allRepositories: boolean;
  scopeWidgets: boolean;
  createdAt: number;
}

/** Every page of a query, following nextCursor; checks that no page repeats an item. */
async function allPages(admin: Client, query: string, limit: number): Promise<AdminTokenDto[]> {
  const items: AdminTokenDto[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const reply: Reply<AdminTokenPage> = await admin.get<AdminTokenPage>(
      `/admin/tokens?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.ok(reply.body.items.length <= limit);
    items.push(...reply.body.items);
    cursor = reply.body.nextCursor;
    if (cursor === null) return items;
    assert.equal(reply.body.items.length, limit, "only the last page is short");
  }
  throw new Error("never reached the last page");
}

describe("administrators' token inventory: GET/PATCH/DELETE /admin/tokens", function () {
  this.timeout(180_000);
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  const seeds: Seed[] = [];
  const now = Date.now();

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await createUser(admin, server, "bob");
    await createUser(admin, server, "carol", true);
    await setPatAuth(admin, true);
    const widgets = await createRepository(admin, "acme", "widgets");
    await createRepository(admin, "acme", "gadgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await admin.put("/repositories/acme/gadgets/members/bob", { access: "write" });
    const userRows: { id: number; username: string }[] = await server.knex("users").select("id", "username");
    const users = new Map(userRows.map((u) => [u.username, u.id]));
    // A few hundred tokens of three owners, of every state, some created in the same microsecond.
    const rows = [];
    for (let i = 0; i < SEEDED; i++) {
      const username = ["alice", "bob", "carol"][i % 3] as string;
      const lifetimeDays = i % 5 === 0 ? 700 : 30;
      const createdAt = now - DAY - Math.floor(i / 3) * 60_000;
      const seed: Seed = {
        id: 0,
        username,
        active: i % 7 !== 0,
        expiresAt: now + ((i % 40) - 10) * DAY + 1000,
        lastUsedAt: i % 4 === 0 ? null : now - (i % 30) * DAY,
        lifetimeDays,
        allRepositories: i % 2 === 0,
        scopeWidgets: i % 4 === 1,
        createdAt,
      };
      seeds.push(seed);
      rows.push({
        user_id: users.get(username),
        description: `seed ${i}`,
        permission: "read",
        all_repositories: seed.allRepositories,
        token_hash: randomBytes(32).toString("hex"),
        token_hint: "clapat_…seed",
        active: seed.active,
        expires_at: new Date(seed.expiresAt),
        created_at: new Date(createdAt),
        updated_at: new Date(createdAt),
        last_used_at: seed.lastUsedAt === null ? null : new Date(seed.lastUsedAt),
        lifetime_seconds: lifetimeDays * 86_400,
      });
    }
    const inserted: { id: number }[] = await server.knex("personal_access_tokens").insert(rows).returning("id");
    inserted.forEach((row, i) => ((seeds[i] as Seed).id = row.id));
    const gadgetsRow: { id: number } | undefined = await server.knex("repositories").where({ name: "gadgets" }).first("id");
    const gadgets = gadgetsRow?.id;
    await server
      .knex("personal_access_token_repositories")
      .insert(
        seeds.filter((s) => !s.allRepositories).map((s) => ({ token_id: s.id, repository_id: s.scopeWidgets ? widgets.id : gadgets })),
      );
  });
  after(() => server.close());

  const ids = (items: { id: number }[]) => items.map((t) => t.id);
  /** Newest first, as the inventory orders: created_at, then id, both descending. */
  const newestFirst = (list: Seed[]) => [...list].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id).map((s) => s.id);
  const seededOnly = (items: AdminTokenDto[]) => items.filter((t) => t.description.startsWith("seed "));

  it("refuses anyone but an administrator (403 admin_required) and changes nothing", async () => {
    const token = seeds[0] as Seed;
    for (const reply of [
      await alice.get<ErrorReply>("/admin/tokens"),
      await alice.patch<ErrorReply>(`/admin/tokens/${token.id}`, { active: false }),
      await alice.delete<ErrorReply>(`/admin/tokens/${token.id}`),
    ]) {
      assert.equal(reply.status, 403);
      assert.equal(reply.body.error.code, "admin_required");
    }
    const row: { active: boolean } | undefined = await server.knex("personal_access_tokens").where({ id: token.id }).first("active");
    assert.equal(row?.active, token.active);
  });

  it("pages through every token newest first with the owner's name, never a secret, each exactly once", async () => {
    const mine = await createToken(alice, { description: "api-made" });
    const all: { id: number }[] = await server
      .knex("personal_access_tokens")
      .orderBy([
        { column: "created_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .select("id");
    const expected = ids(all);
    for (const limit of [1, 37, 200]) {
      const items = await allPages(admin, "", limit);
      assert.deepEqual(ids(items), expected, `limit ${limit}`);
    }
    const first = (await admin.get<AdminTokenPage>("/admin/tokens?limit=5")).body;
    assert.equal(first.items[0]?.id, mine.id);
    assert.equal(first.items[0]?.username, "alice");
    const text = JSON.stringify(first);
    assert.ok(!text.includes(mine.token) && !text.includes("token_hash") && !/"token"/.test(text), "no secret, no hash");
    assert.equal((await admin.get<AdminTokenPage>("/admin/tokens")).body.items.length, 50, "50 by default");
  });

  it("refuses a limit above 200, a cursor it did not hand out and unknown filters, naming them", async () => {
    for (const query of ["limit=201", "limit=0", "cursor=bm9wZQ", "state=revoked", "expiresBefore=soon", "color=red", "repository=nope"]) {
      const reply = await admin.get<ErrorReply>(`/admin/tokens?${query}`);
      assert.equal(reply.status, 400, query);
      assert.match(reply.body.error.message, new RegExp(query.split("=")[0] as string), query);
    }
    const missing = await admin.get<ErrorReply>("/admin/tokens?repository=acme/missing");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "repository_not_found");
  });

  it("filters by username (any case), state, expiresBefore, lastUsedBefore, repository and exceedsPolicy, all pages", async () => {
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const reach = (s: Seed) => (s.allRepositories || s.scopeWidgets) && (s.username === "carol" || s.username === "alice");
    const cases: [string, (s: Seed) => boolean][] = [
      ["&username=BOB", (s) => s.username === "bob"],
      ["&state=active", (s) => s.active && s.expiresAt > Date.now()],
      ["&state=inactive", (s) => !s.active && s.expiresAt > Date.now()],
      ["&state=expired", (s) => s.expiresAt <= Date.now()],
      [`&expiresBefore=${at(now + 5 * DAY)}`, (s) => s.expiresAt < now + 5 * DAY],
      [`&lastUsedBefore=${at(now - 10 * DAY + 1)}`, (s) => s.lastUsedAt === null || s.lastUsedAt < now - 10 * DAY + 1],
      ["&repository=acme/widgets", reach],
      ["&exceedsPolicy=false", (s) => s.lifetimeDays <= 730],
      [
        "&username=carol&state=active&repository=acme/widgets",
        (s) => s.username === "carol" && s.active && s.expiresAt > Date.now() && reach(s),
      ],
    ];
    for (const [query, keep] of cases) {
      const got = seededOnly(await allPages(admin, query, 23));
      assert.deepEqual(ids(got), newestFirst(seeds.filter(keep)), query);
      assert.ok(got.length > 0, `${query} matches some`);
    }
  });

  it("lowering maxLifetimeDays changes no token: the inventory marks those beyond it and can filter them", async () => {
    const before = (await admin.get<AdminTokenPage>("/admin/tokens?exceedsPolicy=true")).body;
    assert.equal(before.items.length, 0, "nothing exceeds 730 days");
    const long = await createToken(alice, { description: "long-lived", expiresInDays: 400 });
    await admin.put("/settings/git", { maxLifetimeDays: 365 });
    try {
      const beyond = seededOnly(await allPages(admin, "&exceedsPolicy=true", 50));
      assert.deepEqual(ids(beyond), newestFirst(seeds.filter((s) => s.lifetimeDays > 365)));
      const page = (await admin.get<AdminTokenPage>("/admin/tokens?exceedsPolicy=true&username=alice&limit=1")).body;
      assert.equal(page.items[0]?.id, long.id);
      assert.equal(page.items[0]?.exceedsPolicy, true);
      assert.equal(page.items[0]?.expiresAt, long.expiresAt, "the token itself is unchanged");
      const within = (await admin.get<AdminTokenPage>("/admin/tokens?exceedsPolicy=false&limit=200")).body.items;
      assert.ok(within.every((t) => !t.exceedsPolicy) && !within.some((t) => t.id === long.id));
      // The token still works over git until it expires.
      assert.equal((await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: long.token })).status, 204);
    } finally {
      await admin.put("/settings/git", { maxLifetimeDays: 730 });
    }
  });

  it("PATCH deactivates and DELETE removes anyone's token: audited (admin actor, owner target), refused by git at once", async () => {
    const victim = await createToken(alice, { description: "leaked" });
    const ask = () => askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: victim.token });
    assert.equal((await ask()).status, 204);
    const off = await admin.patch<AdminTokenDto>(`/admin/tokens/${victim.id}`, { active: false });
    assert.equal(off.status, 200);
    assert.equal(off.body.active, false);
    assert.equal(off.body.username, "alice");
    assert.equal((await ask()).status, 401);
    assert.equal((await admin.patch<AdminTokenDto>(`/admin/tokens/${victim.id}`, { active: true })).body.active, true);
    assert.equal((await ask()).status, 204);
    assert.equal((await admin.delete(`/admin/tokens/${victim.id}`)).status, 204);
    assert.equal((await ask()).status, 401);
    assert.equal((await admin.delete<ErrorReply>(`/admin/tokens/${victim.id}`)).body.error.code, "token_not_found");
    assert.equal((await admin.patch<ErrorReply>("/admin/tokens/999999", { active: false })).status, 404);
    const bad = await admin.patch<ErrorReply>(`/admin/tokens/${(seeds[1] as Seed).id}`, { active: "no" });
    assert.equal(bad.status, 400);
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=20")).body.items.filter((e) => e.details?.tokenId === victim.id);
    assert.deepEqual(
      events.map((e) => [e.action, e.actor, e.target]),
      [
        ["token.deleted", "admin", "user:alice"],
        ["token.activated", "admin", "user:alice"],
        ["token.deactivated", "admin", "user:alice"],
      ],
    );
  });

  if (TEST_DB === "postgres") {
    it("an administrator's deactivation and removal are effective on the next git request on another instance", async () => {
      const second = await startTestServer({ databaseUrl: server.config.databaseUrl });
      try {
        for (let round = 0; round < 10; round++) {
          const token = await createToken(alice, { description: `round ${round}` });
          const ask = () => askHook(second.url, { uri: readRefs("acme/widgets"), user: "alice", token: token.token });
          assert.equal((await ask()).status, 204, "cached on the second instance");
          if (round % 2 === 0) await admin.patch(`/admin/tokens/${token.id}`, { active: false });
          else await admin.delete(`/admin/tokens/${token.id}`);
          assert.equal((await ask()).status, 401, `round ${round}`);
        }
      } finally {
        await second.close();
      }
    });
  }
});
