import assert from "node:assert/strict";
import type { GitSettingsDto, UserDto } from "@clarive/shared";
import { type Client, createUser, login, loginAdmin, type ErrorReply } from "../support/client";
import { startTestServer, type TestServer } from "../support/testServer";

describe("global git settings", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
  });
  after(() => server.close());

  it("defaults to PAT auth off and 730 days; any user may read", async () => {
    const reply = await alice.get<GitSettingsDto>("/settings/git");
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { patAuthEnabled: false, maxLifetimeDays: 730, pushProtection: true });
  });

  it("an admin changes either field; the change persists", async () => {
    let reply = await admin.put<GitSettingsDto>("/settings/git", { patAuthEnabled: true });
    assert.deepEqual(reply.body, { patAuthEnabled: true, maxLifetimeDays: 730, pushProtection: true });
    reply = await admin.put<GitSettingsDto>("/settings/git", { maxLifetimeDays: 90 });
    assert.deepEqual(reply.body, { patAuthEnabled: true, maxLifetimeDays: 90, pushProtection: true });
    assert.deepEqual((await alice.get<GitSettingsDto>("/settings/git")).body, {
      patAuthEnabled: true,
      maxLifetimeDays: 90,
      pushProtection: true,
    });
  });

  it("a non-admin is refused with 403", async () => {
    const reply = await alice.put<ErrorReply>("/settings/git", { patAuthEnabled: false });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error.code, "admin_required");
    assert.equal((await alice.get<GitSettingsDto>("/settings/git")).body.patAuthEnabled, true);
  });

  it("refuses an empty change and out-of-range lifetimes", async () => {
    for (const body of [{}, { maxLifetimeDays: 6 }, { maxLifetimeDays: 731 }, { maxLifetimeDays: "30" }, { patAuthEnabled: "yes" }]) {
      const reply = await admin.put<ErrorReply>("/settings/git", body);
      assert.equal(reply.status, 400, JSON.stringify(body));
    }
    assert.equal((await admin.get<GitSettingsDto>("/settings/git")).body.maxLifetimeDays, 90);
  });
});

describe("users (admin)", () => {
  let server: TestServer;
  let admin: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
  });
  after(() => server.close());

  it("creates, lists and updates users; passwords are argon2id hashes", async () => {
    const created = await admin.post<UserDto>("/users", { username: "carol", password: "carol-password" });
    assert.equal(created.status, 201);
    assert.equal(created.body.isAdmin, false);
    const list = await admin.get<UserDto[]>("/users");
    assert.deepEqual(
      list.body.map((u) => u.username),
      ["admin", "carol"],
    );
    const row = await server.knex<{ username: string; password_hash: string }>("users").where({ username: "carol" }).first();
    assert.match(row?.password_hash ?? "", /^\$argon2id\$/);

    const changed = await admin.patch<UserDto>("/users/carol", { password: "new-carol-password", isAdmin: true });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.isAdmin, true);
    await login(server, "carol", "new-carol-password");
  });

  it("refuses duplicates (any case) with 409, bad names and short passwords with 400", async () => {
    const dup = await admin.post<ErrorReply>("/users", { username: "CAROL", password: "whatever-password" });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, "user_exists");
    for (const body of [
      { username: "bad name", password: "long-enough" },
      { username: "-dash", password: "long-enough" },
      { username: "dave", password: "short" },
      { username: "dave" },
    ]) {
      assert.equal((await admin.post("/users", body)).status, 400, JSON.stringify(body));
    }
  });

  it("unknown users are 404; non-admins get 403 on every user endpoint", async () => {
    assert.equal((await admin.patch<ErrorReply>("/users/nobody", { active: false })).body.error.code, "user_not_found");
    const erin = await createUser(admin, server, "erin");
    assert.equal((await erin.get("/users")).status, 403);
    assert.equal((await erin.post("/users", { username: "x1", password: "long-enough" })).status, 403);
    assert.equal((await erin.patch("/users/erin", { isAdmin: true })).status, 403);
  });

  it("never leaves the server without an active admin", async () => {
    await admin.patch("/users/carol", { isAdmin: false });
    const reply = await admin.patch<ErrorReply>("/users/admin", { isAdmin: false });
    assert.equal(reply.status, 409);
    assert.equal(reply.body.error.code, "last_admin");
    assert.equal((await admin.patch<ErrorReply>("/users/admin", { active: false })).status, 409);
    assert.equal((await admin.get<UserDto>("/me")).body.isAdmin, true);
  });
});
