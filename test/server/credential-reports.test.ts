import assert from "node:assert/strict";
import type { AuditEventDto, Page, TokenDto } from "@clarive/shared";
import { generatePersonalAccessToken } from "@clarive/shared";
import { alterLastCharacter, type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { readRefs } from "../support/hook";
import { snapshotDatabase } from "../support/snapshot";
import { startTestServer, type TestServer } from "../support/testServer";

describe("public revocation of leaked tokens (POST /api/v1/credentials/revoke)", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let address = 0;

  before(async () => {
    // Behind a proxy, so each test reports from its own address and the rate limit stays apart.
    server = await startTestServer({ env: { TRUST_PROXY: "true" } });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
  });
  after(() => server.close());

  /** A report as a stranger would send it: no login, from its own address. */
  const report = (credentials: unknown, ip = `198.51.100.${++address}`) =>
    fetch(`${server.url}/api/v1/credentials/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: typeof credentials === "string" ? credentials : JSON.stringify({ credentials }),
    });
  const gitStatus = async (token: string) =>
    (
      await fetch(`${server.url}${readRefs("acme/widgets")}`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${token}`).toString("base64")}` },
      })
    ).status;

  it("deactivates a live token at once (git then refuses it), audited with the reporter's address", async () => {
    const t = await createToken(alice);
    assert.equal(await gitStatus(t.token), 200);
    const reply = await report([t.token], "203.0.113.44");
    assert.equal(reply.status, 202);
    assert.equal(await gitStatus(t.token), 401);
    assert.equal((await alice.get<TokenDto>(`/tokens/${t.id}`)).body.active, false);
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=50")).body.items;
    const event = events.find((e) => e.action === "token.revoked_by_report" && e.target === `token:${t.id}`);
    assert.ok(event, "audit event");
    assert.equal(event.ip, "203.0.113.44");
    assert.equal(event.actor, null);
    assert.ok(!JSON.stringify(events).includes(t.token), "the secret is never stored");
  });

  it("finds tokens inside pasted text, several per report", async () => {
    const [a, b] = [await createToken(alice), await createToken(alice)];
    const reply = await report([`git clone https://alice:${a.token}@example.com/git/acme/widgets`, `TOKEN="${b.token}"\nother text`]);
    assert.equal(reply.status, 202);
    assert.equal(await gitStatus(a.token), 401);
    assert.equal(await gitStatus(b.token), 401);
  });

  it("a reported secret that was rotated out but is still inside its grace window deactivates its token", async () => {
    const t = await createToken(alice);
    const rotated = await alice.post<{ token: string }>(`/tokens/${t.id}/rotate`, { graceMinutes: 60 });
    assert.equal(await gitStatus(t.token), 200, "the old secret still works inside its window");
    assert.equal((await report([t.token])).status, 202);
    assert.equal(await gitStatus(t.token), 401);
    assert.equal(await gitStatus(rotated.body.token), 401, "the token itself is deactivated, whichever secret was reported");
    assert.equal((await alice.get<TokenDto>(`/tokens/${t.id}`)).body.active, false);
  });

  it("answers every accepted report alike and changes nothing for strings that are not live tokens", async () => {
    const live = await createToken(alice);
    const deleted = await createToken(alice);
    await alice.delete(`/tokens/${deleted.id}`);
    const answers: string[] = [];
    const first = await report([live.token]);
    answers.push(`${first.status} ${await first.text()}`);
    const before = await snapshotDatabase(server.knex);
    for (const credentials of [
      [generatePersonalAccessToken()], // well-formed, unknown
      [deleted.token],
      [alterLastCharacter(generatePersonalAccessToken())], // checksum-invalid look-alike
      [live.token], // already deactivated by the first report
      ["hello", "", "clapat_"],
      [`x${generatePersonalAccessToken()}`], // glued to a longer word: not a token
    ]) {
      const reply = await report(credentials);
      answers.push(`${reply.status} ${await reply.text()}`);
    }
    assert.equal(new Set(answers).size, 1, `one answer for all: ${answers.join(" | ")}`);
    assert.equal(await snapshotDatabase(server.knex), before, "tokens and audit untouched");
  });

  it("refuses a report of more than 100 strings, an entry over 8192 characters, a body over 64 KiB, or no strings", async () => {
    const before = await snapshotDatabase(server.knex);
    const live = await createToken(alice);
    const after = await snapshotDatabase(server.knex);
    assert.equal((await report(Array.from({ length: 101 }, () => live.token))).status, 400);
    assert.equal((await report(["x".repeat(8193), live.token])).status, 400);
    assert.equal(await report([]).then((r) => r.status), 400);
    assert.equal((await report(JSON.stringify({ credentials: [live.token], extra: true }))).status, 400);
    assert.equal((await report(JSON.stringify({ credentials: Array.from({ length: 10 }, () => "y".repeat(7000)) }))).status, 413);
    assert.notEqual(before, after);
    assert.equal(await snapshotDatabase(server.knex), after);
    // Last: a git request records the token's last use, which the snapshot would see.
    assert.equal(await gitStatus(live.token), 200, "a refused report revokes nothing");
  });

  it("limits reports per client address (429 with Retry-After); another address is not held up", async () => {
    const flooder = "192.0.2.99";
    for (let i = 0; i < 30; i++) assert.equal((await report(["nothing"], flooder)).status, 202, `report ${i + 1}`);
    const held = await report(["nothing"], flooder);
    assert.equal(held.status, 429);
    assert.ok(Number(held.headers.get("retry-after")) > 0);
    assert.equal(((await held.json()) as { error: { code: string } }).error.code, "too_many_requests");
    const t = await createToken(alice);
    assert.equal((await report([t.token], "192.0.2.100")).status, 202);
    assert.equal(await gitStatus(t.token), 401);
  });

  it("is documented in the OpenAPI document with its 202 and 429", async () => {
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, { post?: { responses: Record<string, unknown>; security?: unknown } }>;
    };
    const operation = document.paths["/api/v1/credentials/revoke"]?.post;
    assert.ok(operation);
    assert.ok(operation.responses["202"] && operation.responses["429"] && operation.responses["400"]);
    assert.deepEqual(operation.security, [], "no login: an empty security list overrides the API key default");
  });
});
