import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { AuditEventDto, CreatedTokenDto, Page, TokenDto } from "@clarive/shared";
import { isWellFormedPersonalAccessToken } from "@clarive/shared";
import { type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth, type ErrorReply } from "../support/client";
import { startTestServer, type TestServer } from "../support/testServer";

const DAY = 86_400_000;

describe("personal access tokens over REST", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let bob: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    bob = await createUser(admin, server, "bob");
    await createRepository(admin, "acme", "widgets");
    await createRepository(admin, "acme", "gadgets");
    await createRepository(admin, "other", "secret");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await admin.put("/repositories/acme/gadgets/members/alice", { access: "read" });
  });
  after(() => server.close());

  it("refuses creation while PAT auth is off globally and on no repository (403)", async () => {
    const reply = await alice.post<ErrorReply>("/tokens", { description: "x", expiresInDays: 30, permission: "read" });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error.code, "pat_auth_disabled");
    assert.match(reply.body.error.message, /administrator/);
    assert.equal((await server.knex("personal_access_tokens").count("* as n").first())?.n, 0);
  });

  it("allows creation once one repository has pat_access = true, even with the global switch off", async () => {
    await admin.patch("/repositories/acme/widgets", { patAccess: "true" });
    const token = await createToken(alice, { description: "widgets only", repositories: ["acme/widgets"] });
    assert.deepEqual(token.repositories, ["acme/widgets"]);
    assert.equal((await admin.delete(`/tokens/${token.id}`)).status, 404, "not the admin's token");
    assert.equal((await alice.delete(`/tokens/${token.id}`)).status, 204);
    await admin.patch("/repositories/acme/widgets", { patAccess: "inherit" });
    await setPatAuth(admin, true);
  });

  it("creates a token shown once; only its SHA-256 is stored", async () => {
    const before = Date.now();
    const reply = await alice.post<CreatedTokenDto>("/tokens", {
      description: "  laptop  ",
      expiresInDays: 30,
      repositories: ["acme/widgets", "acme/gadgets", "acme/widgets"],
      permission: "read",
    });
    assert.equal(reply.status, 201);
    const t = reply.body;
    assert.ok(isWellFormedPersonalAccessToken(t.token));
    assert.equal(t.description, "laptop");
    assert.equal(t.permission, "read");
    assert.deepEqual(t.repositories, ["acme/gadgets", "acme/widgets"]);
    assert.equal(t.allRepositories, false);
    assert.equal(t.hint, `clapat_…${t.token.slice(-4)}`);
    assert.equal(t.active, true);
    assert.equal(t.expired, false);
    assert.equal(t.lastUsedAt, null);
    const expires = Date.parse(t.expiresAt);
    assert.ok(expires >= before + 30 * DAY && expires <= Date.now() + 30 * DAY);

    const row = await server.knex<{ id: number; token_hash: string }>("personal_access_tokens").where({ id: t.id }).first();
    assert.equal(row?.token_hash, createHash("sha256").update(t.token).digest("hex"));
    const everything = JSON.stringify(
      await Promise.all(
        ["personal_access_tokens", "audit_events", "personal_access_token_repositories"].map((x) => server.knex(x).select()),
      ),
    );
    assert.ok(!everything.includes(t.token), "the plaintext is nowhere in the database");

    const listed = await alice.get<TokenDto[]>("/tokens");
    assert.ok(!JSON.stringify(listed.body).includes(t.token), "listings never show the secret");
    const one = await alice.get<TokenDto & { token?: string }>(`/tokens/${t.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.token, undefined);
    assert.deepEqual(
      one.body,
      listed.body.find((x) => x.id === t.id),
    );
  });

  it("an empty or absent scope means all repositories", async () => {
    const a = await createToken(alice, { repositories: [] });
    const b = await createToken(alice);
    for (const t of [a, b]) {
      assert.deepEqual(t.repositories, []);
      assert.equal(t.allRepositories, true);
    }
  });

  it("accepts expiresAt (date or date-time) and enforces 7–730 days and maxLifetimeDays, stating the limits", async () => {
    const inTenDays = new Date(Date.now() + 10 * DAY);
    const byDate = await createToken(alice, { expiresAt: inTenDays.toISOString().slice(0, 10) });
    assert.equal(byDate.expiresAt.slice(0, 10), inTenDays.toISOString().slice(0, 10));
    await createToken(alice, { expiresAt: inTenDays.toISOString() });
    for (const body of [
      { expiresInDays: 6 },
      { expiresInDays: 731 },
      { expiresAt: new Date(Date.now() + 3 * DAY).toISOString() },
      { expiresAt: new Date(Date.now() + 800 * DAY).toISOString() },
      { expiresInDays: 30, expiresAt: inTenDays.toISOString() },
      {},
    ]) {
      const reply = await alice.post<ErrorReply>("/tokens", { description: "x", permission: "read", ...body });
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.error.code, "invalid_expiration");
    }
    const six = await alice.post<ErrorReply>("/tokens", { description: "x", permission: "read", expiresInDays: 6 });
    assert.match(six.body.error.message, /between 7 and 730 days/);
    await admin.put("/settings/git", { maxLifetimeDays: 60 });
    const capped = await alice.post<ErrorReply>("/tokens", { description: "x", permission: "read", expiresInDays: 90 });
    assert.equal(capped.status, 400);
    assert.match(capped.body.error.message, /between 7 and 60 days/);
    await admin.put("/settings/git", { maxLifetimeDays: 730 });
  });

  it("refuses scope entries that do not exist or that the owner cannot reach, naming the offender", async () => {
    for (const entry of ["acme/nope", "other/secret"]) {
      const reply = await alice.post<ErrorReply>("/tokens", {
        description: "x",
        permission: "read",
        expiresInDays: 30,
        repositories: ["acme/widgets", entry],
      });
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error.code, "invalid_repository_scope");
      assert.ok(reply.body.error.message.includes(entry));
    }
    const malformed = await alice.post<ErrorReply>("/tokens", {
      description: "x",
      permission: "read",
      expiresInDays: 30,
      repositories: ["no-slash"],
    });
    assert.equal(malformed.status, 400);
    // Admins reach every repository.
    const adminToken = await createToken(admin, { repositories: ["other/secret"] });
    assert.deepEqual(adminToken.repositories, ["other/secret"]);
  });

  it("PATCH edits description, scope and permission; active toggles; each is audited", async () => {
    const t = await createToken(alice, { description: "ci", permission: "read", repositories: ["acme/widgets"] });
    let reply = await alice.patch<TokenDto>(`/tokens/${t.id}`, {
      description: "ci runner",
      permission: "read-write",
      repositories: ["acme/gadgets"],
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.description, "ci runner");
    assert.equal(reply.body.permission, "read-write");
    assert.deepEqual(reply.body.repositories, ["acme/gadgets"]);
    reply = await alice.patch<TokenDto>(`/tokens/${t.id}`, { repositories: [] });
    assert.equal(reply.body.allRepositories, true);
    reply = await alice.patch<TokenDto>(`/tokens/${t.id}`, { active: false });
    assert.equal(reply.body.active, false);
    reply = await alice.patch<TokenDto>(`/tokens/${t.id}`, { active: true });
    assert.equal(reply.body.active, true);
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items.filter((e) => e.target === `token:${t.id}`);
    assert.deepEqual(events.map((e) => e.action).reverse(), [
      "token.created",
      "token.updated",
      "token.updated",
      "token.deactivated",
      "token.activated",
    ]);
    assert.ok(events.every((e) => e.actor === "alice"));
  });

  it("refuses bad edits and changes nothing", async () => {
    const t = await createToken(alice, { description: "keep", permission: "read", repositories: ["acme/widgets"] });
    for (const body of [
      {},
      { description: "" },
      { permission: "admin" },
      { active: "no" },
      { repositories: ["other/secret"] },
      { expiresInDays: 6 },
      { expiresInDays: 30, expiresAt: "2027-01-01" },
    ]) {
      const reply = await alice.patch<ErrorReply>(`/tokens/${t.id}`, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
    }
    const after = await alice.get<TokenDto>(`/tokens/${t.id}`);
    assert.equal(after.body.description, "keep");
    assert.equal(after.body.permission, "read");
    assert.deepEqual(after.body.repositories, ["acme/widgets"]);
    assert.equal(after.body.expiresAt, t.expiresAt);
  });

  it("another user's token id answers 404 everywhere, exactly like a missing one", async () => {
    const t = await createToken(alice);
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { active: false }],
      ["DELETE", undefined],
    ] as const) {
      const theirs = await bob.request<ErrorReply>(method, `/tokens/${t.id}`, body);
      const missing = await bob.request<ErrorReply>(method, `/tokens/999999`, body);
      assert.equal(theirs.status, 404);
      assert.deepEqual(theirs.body.error.code, missing.body.error.code);
    }
    assert.ok((await bob.get<TokenDto[]>("/tokens")).body.every((x) => x.id !== t.id));
    assert.equal((await alice.get<TokenDto>(`/tokens/${t.id}`)).body.active, true);
  });

  it("DELETE removes permanently", async () => {
    const t = await createToken(alice);
    assert.equal((await alice.delete(`/tokens/${t.id}`)).status, 204);
    assert.equal((await alice.get(`/tokens/${t.id}`)).status, 404);
    assert.equal((await alice.delete(`/tokens/${t.id}`)).status, 404);
    assert.equal(await server.knex("personal_access_tokens").where({ id: t.id }).first(), undefined);
  });

  it("deleting a scoped repository never widens a token to all repositories", async () => {
    await createRepository(admin, "acme", "temp");
    await admin.put("/repositories/acme/temp/members/alice", { access: "write" });
    const t = await createToken(alice, { repositories: ["acme/temp"] });
    await admin.delete("/repositories/acme/temp");
    const after = (await alice.get<TokenDto>(`/tokens/${t.id}`)).body;
    assert.deepEqual(after.repositories, []);
    assert.equal(after.allRepositories, false);
  });

  it("lists newest first with the expiry state", async () => {
    const soon = await createToken(bob, { description: "soon" });
    // Time travel: no API can make a token expire sooner than 7 days.
    await server
      .knex("personal_access_tokens")
      .where({ id: soon.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const newer = await createToken(bob, { description: "newer" });
    const list = (await bob.get<TokenDto[]>("/tokens")).body;
    assert.deepEqual(
      list.map((x) => [x.description, x.expired]),
      [
        ["newer", false],
        ["soon", true],
      ],
    );
    assert.equal(list[0]?.id, newer.id);
  });
});
