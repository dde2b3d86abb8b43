import assert from "node:assert/strict";
import type { CreatedTokenDto, TokenDto } from "@clarive/shared";
import { type Client, type ErrorReply, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { MovableClock, startTestServer, type TestServer } from "../support/testServer";

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe("the lifetime policy: maxLifetimeDays bounds create, edit and rotate exactly", function () {
  this.timeout(180_000);
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  // Frozen in practice: the service's time only moves when the test moves it, plus the few ms a request takes.
  const clock = new MovableClock();

  before(async () => {
    server = await startTestServer({ clock });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await setPatAuth(admin, true);
  });
  after(() => server.close());
  afterEach(async () => {
    await admin.put("/settings/git", { maxLifetimeDays: 730 });
  });

  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const create = (body: object) => alice.post<CreatedTokenDto & ErrorReply>("/tokens", { description: "x", permission: "read", ...body });

  it("create: an expiresAt 6 days and 1 hour away is refused (no rounding up), 7 days and a minute is fine", async () => {
    const short = await create({ expiresAt: at(6 * DAY + HOUR) });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.code, "invalid_expiration");
    assert.match(short.body.error.message, /between 7 and 730 days from now; .* is 6\.04 days away/);
    assert.equal((await create({ expiresAt: at(7 * DAY + 60_000) })).status, 201);
  });

  it("create: at most maxLifetimeDays, to the second", async () => {
    await admin.put("/settings/git", { maxLifetimeDays: 30 });
    assert.equal((await create({ expiresAt: at(30 * DAY - 60_000) })).status, 201);
    const over = await create({ expiresAt: at(30 * DAY + 60_000) });
    assert.equal(over.status, 400);
    assert.match(over.body.error.message, /between 7 and 30 days/);
    assert.equal((await create({ expiresInDays: 31 })).status, 400);
    assert.equal((await create({ expiresInDays: 30 })).status, 201);
  });

  it("edit: a new expiry is bounded the same way from now; a bad one changes nothing", async () => {
    const token = await createToken(alice, { expiresInDays: 30 });
    await admin.put("/settings/git", { maxLifetimeDays: 60 });
    const longer = await alice.patch<TokenDto>(`/tokens/${token.id}`, { expiresInDays: 60 });
    assert.equal(longer.status, 200);
    assert.ok(Math.abs(Date.parse(longer.body.expiresAt) - (clock.now() + 60 * DAY)) < 60_000);
    for (const body of [
      { expiresInDays: 61 },
      { expiresAt: at(60 * DAY + 60_000) },
      { expiresAt: at(6 * DAY + HOUR) },
      { expiresInDays: 30, expiresAt: at(30 * DAY) },
    ]) {
      const reply = await alice.patch<ErrorReply>(`/tokens/${token.id}`, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.error.code, "invalid_expiration");
    }
    assert.equal((await alice.get<TokenDto>(`/tokens/${token.id}`)).body.expiresAt, longer.body.expiresAt, "unchanged");
  });

  it("rotate: the restarted lifetime is capped at maxLifetimeDays exactly", async () => {
    const token = await createToken(alice, { expiresInDays: 90 });
    await admin.put("/settings/git", { maxLifetimeDays: 30 });
    const rotated = await alice.post<CreatedTokenDto>(`/tokens/${token.id}/rotate`, {});
    assert.equal(rotated.status, 201);
    const lifetime = Date.parse(rotated.body.expiresAt) - Date.parse(rotated.body.rotatedAt ?? "");
    assert.equal(lifetime, 30 * DAY, "exactly 30 days from the rotation");
  });

  it("lowering the policy changes no existing token", async () => {
    const token = await createToken(alice, { expiresInDays: 400 });
    await admin.put("/settings/git", { maxLifetimeDays: 30 });
    const after = (await alice.get<TokenDto>(`/tokens/${token.id}`)).body;
    assert.equal(after.expiresAt, token.expiresAt);
    assert.equal(after.active, true);
    // An edit that leaves the expiry alone keeps it too.
    assert.equal((await alice.patch<TokenDto>(`/tokens/${token.id}`, { description: "renamed" })).body.expiresAt, token.expiresAt);
  });
});
