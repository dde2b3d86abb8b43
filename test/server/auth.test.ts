import assert from "node:assert/strict";
import http from "node:http";
import type { AuditEventDto, ErrorBody, LoginResponse, Page, UserDto } from "@clarive/shared";
import { alterLastCharacter, Client, createToken, createUser, loginAdmin, setPatAuth, type ErrorReply } from "../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";

describe("REST authentication", () => {
  let server: TestServer;
  let admin: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
  });
  after(() => server.close());

  it("the first start created admin with ADMIN_PASSWORD; login returns a clapi_ key and the user", async () => {
    const reply = await new Client(server.url).post<LoginResponse>("/auth/login", {
      username: "admin",
      password: ADMIN_PASSWORD,
      label: "tests",
    });
    assert.equal(reply.status, 201);
    assert.match(reply.body.apiKey, /^clapi_[0-9A-Za-z]{36}$/);
    assert.equal(reply.body.user.username, "admin");
    assert.equal(reply.body.user.isAdmin, true);
    const stored = await server.knex("api_keys").select("key_hash");
    assert.ok(stored.every((row: { key_hash: string }) => /^[0-9a-f]{64}$/.test(row.key_hash)));
    assert.ok(!JSON.stringify(stored).includes(reply.body.apiKey));
  });

  it("answers that carry a secret (login, token creation) may not be cached", async () => {
    const login = await new Client(server.url).post<LoginResponse>("/auth/login", { username: "admin", password: ADMIN_PASSWORD });
    assert.equal(login.headers.get("cache-control"), "no-store");
    await setPatAuth(admin, true);
    const created = await admin.post("/tokens", { description: "cache", expiresInDays: 7, permission: "read" });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("cache-control"), "no-store");
    assert.equal((await admin.get("/tokens")).headers.get("cache-control"), null, "listings hold no secret");
  });

  it("GET /me returns the caller", async () => {
    const reply = await admin.get<UserDto>("/me");
    assert.equal(reply.status, 200);
    assert.equal(reply.body.username, "admin");
  });

  it("a wrong password is 401 invalid_credentials and an audited failure", async () => {
    const reply = await new Client(server.url).post<ErrorReply>("/auth/login", { username: "admin", password: "nope" });
    assert.equal(reply.status, 401);
    assert.equal(reply.body.error.code, "invalid_credentials");
    const unknown = await new Client(server.url).post<ErrorReply>("/auth/login", { username: "ghost", password: "nope" });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.message, reply.body.error.message, "same answer for unknown users");
    const audit = await admin.get<Page<AuditEventDto>>("/audit");
    const failures = audit.body.items.filter((e) => e.action === "login.failed");
    assert.deepEqual(failures.map((e) => e.actor).sort(), ["admin", "ghost"]);
    assert.ok(failures.every((e) => e.ip === "127.0.0.1"));
    assert.ok(audit.body.items.some((e) => e.action === "login.succeeded" && e.actor === "admin"));
  });

  it("a token typed as the login username is never stored whole, only its hint", async () => {
    const { token } = await createToken(admin);
    const reply = await new Client(server.url).post<ErrorReply>("/auth/login", { username: token, password: "whatever1" });
    assert.equal(reply.status, 401);
    const rows = await server.knex("audit_events").select("*");
    assert.ok(!JSON.stringify(rows).includes(token), "not in the audit table");
    const events = (await admin.get<Page<AuditEventDto>>("/audit?limit=200")).body.items;
    assert.ok(events.some((e) => e.action === "login.failed" && e.actor === `clapat_…${token.slice(-4)}`));
  });

  it("no, malformed or unknown API keys are 401 with a reason", async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, "unauthenticated"],
      [{ authorization: "Basic YWRtaW46eA==" }, "invalid_authorization"],
      [{ authorization: "Bearer" }, "invalid_authorization"],
      [{ authorization: "Bearer clapi_short" }, "invalid_api_key"],
      [{ authorization: `Bearer ${alterLastCharacter(admin.apiKey ?? "")}` }, "invalid_api_key"],
    ];
    for (const [headers, code] of cases) {
      const reply = await new Client(server.url).request<ErrorReply>("GET", "/me", undefined, headers);
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.equal(reply.body.error.code, code);
    }
  });

  it("a well-formed but unknown API key is 401", async () => {
    const { generateApiKey } = await import("@clarive/shared");
    const reply = await new Client(server.url, generateApiKey()).get<ErrorReply>("/me");
    assert.equal(reply.status, 401);
    assert.equal(reply.body.error.code, "invalid_api_key");
  });

  it("a personal access token is refused by every REST endpoint, saying PATs are for git", async () => {
    await setPatAuth(admin, true);
    const { token } = await createToken(admin);
    for (const [method, path] of [
      ["GET", "/me"],
      ["GET", "/tokens"],
      ["POST", "/tokens"],
      ["GET", "/repositories"],
      ["PUT", "/settings/git"],
    ] as const) {
      const reply = await new Client(server.url, token).request<ErrorReply>(method, path, method === "GET" ? undefined : {});
      assert.equal(reply.status, 401, `${method} ${path}`);
      assert.equal(reply.body.error.code, "pat_not_accepted");
      assert.match(reply.body.error.message, /git/);
    }
  });

  it("a huge Authorization header gets a JSON error, not a crash", async () => {
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${"x".repeat(100_000)}` } });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(reply.status, 431);
    assert.equal((JSON.parse(reply.body) as ErrorBody).error.code, "headers_too_large");
    // And the service is still up.
    assert.equal((await admin.get("/me")).status, 200);
  });

  it("logout revokes the key; deactivating a user revokes theirs", async () => {
    const bob = await createUser(admin, server, "bob");
    assert.equal((await bob.get("/me")).status, 200);
    assert.equal((await admin.patch("/users/bob", { active: false })).status, 200);
    assert.equal((await bob.get("/me")).status, 401);
    const again = await new Client(server.url).post<ErrorReply>("/auth/login", { username: "bob", password: "bob-password" });
    assert.equal(again.status, 401, "an inactive user cannot log in");

    const extra = await loginAdmin(server);
    assert.equal((await extra.post("/auth/logout")).status, 204);
    assert.equal((await extra.get("/me")).status, 401);
    assert.equal((await admin.get("/me")).status, 200, "other keys of the same user still work");
  });
});
