import assert from "node:assert/strict";
import type { AuditEventDto, Page } from "@clarive/shared";
import { type Client, createRepository, createUser, loginAdmin, setPatAuth } from "../support/client";
import { startTestServer, type TestServer } from "../support/testServer";

describe("audit events", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await setPatAuth(admin, true);
    await createRepository(admin, "acme", "widgets");
    await admin.patch("/repositories/acme/widgets", { patAccess: "false" });
    await admin.put("/repositories/acme/widgets/members/alice", { access: "read" });
    await admin.delete("/repositories/acme/widgets/members/alice");
  });
  after(() => server.close());

  it("records settings, repository, pat_access and membership changes with actor, target, time and IP", async () => {
    const items = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items;
    const byAction = (action: string) => items.find((e) => e.action === action);
    assert.deepEqual(byAction("settings.updated")?.details, {
      before: { patAuthEnabled: false, maxLifetimeDays: 730, pushProtection: true },
      after: { patAuthEnabled: true, maxLifetimeDays: 730, pushProtection: true },
    });
    assert.equal(byAction("repository.created")?.target, "repository:acme/widgets");
    assert.deepEqual(byAction("repository.pat_access_changed")?.details, { before: "inherit", after: "false" });
    assert.deepEqual(byAction("membership.set")?.details, { user: "alice", access: "read" });
    assert.deepEqual(byAction("membership.removed")?.details, { user: "alice" });
    assert.equal(byAction("user.created")?.target, "user:alice");
    for (const e of items) {
      assert.equal(typeof e.id, "number", "int8 ids reach the API as numbers, not strings or BigInt");
      assert.equal(e.ip, "127.0.0.1");
      assert.ok(!Number.isNaN(Date.parse(e.createdAt)));
    }
  });

  it("pages newest first with a cursor, without gaps or repeats", async () => {
    const all = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items;
    assert.ok(all.length >= 8);
    const seen: number[] = [];
    let cursor: number | null = null;
    do {
      const page: Page<AuditEventDto> = (
        await admin.get<Page<AuditEventDto>>(`/audit?limit=3${cursor === null ? "" : `&before=${cursor}`}`)
      ).body;
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(
      seen,
      all.map((e) => e.id),
    );
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => b - a),
    );
  });

  it("is for admins only; bad paging parameters are 400", async () => {
    assert.equal((await alice.get("/audit")).status, 403);
    for (const q of ["limit=0", "limit=201", "before=x", "page=2"]) assert.equal((await admin.get(`/audit?${q}`)).status, 400, q);
  });
});
