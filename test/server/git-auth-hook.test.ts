import assert from "node:assert/strict";
import http from "node:http";
import type { TokenDto } from "@clarive/shared";
import { generatePersonalAccessToken } from "@clarive/shared";
import { type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { askHook, pushRefs, readRefs, receivePack } from "../support/hook";
import { startTestServer, type TestServer } from "../support/testServer";

describe("auth hook for external git servers (GET /api/v1/git/auth)", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;
  let rw: string;
  let ro: string;

  before(async () => {
    // Behind its proxy, as the nginx example runs it: the client address is the forwarded one.
    server = await startTestServer({ env: { TRUST_PROXY: "true" } });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    rw = (await createToken(alice, { permission: "read-write" })).token;
    ro = (await createToken(alice, { permission: "read" })).token;
  });
  after(() => server.close());

  it("allows a read with 204 and names the user", async () => {
    const reply = await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: ro });
    assert.equal(reply.status, 204);
    assert.equal(reply.headers.get("x-clarive-user"), "alice");
  });

  it("allows a push with a read & write token, on both push requests", async () => {
    for (const [uri, method] of [
      [pushRefs("acme/widgets"), "GET"],
      [receivePack("acme/widgets"), "POST"],
    ] as const) {
      const reply = await askHook(server.url, { uri, method, user: "alice", token: rw });
      assert.equal(reply.status, 204, uri);
    }
  });

  it("401 with a Basic challenge without credentials or with a bad token", async () => {
    const none = await askHook(server.url, { uri: readRefs("acme/widgets") });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Basic realm="Clarive"');
    const bad = await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: generatePersonalAccessToken() });
    assert.equal(bad.status, 401);
  });

  it("403 with the reason for a read-only push, an unknown repository and pat_access off", async () => {
    const push = await askHook(server.url, { uri: receivePack("acme/widgets"), method: "POST", user: "alice", token: ro });
    assert.equal(push.status, 403);
    assert.match(((await push.json()) as { error: { message: string } }).error.message, /read-only/);
    const unknown = await askHook(server.url, { uri: readRefs("acme/nothing"), user: "alice", token: ro });
    assert.equal(unknown.status, 403, "auth_request understands only 2xx, 401 and 403");
    await admin.patch("/repositories/acme/widgets", { patAccess: "false" });
    try {
      assert.equal((await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: rw })).status, 403);
    } finally {
      await admin.patch("/repositories/acme/widgets", { patAccess: "inherit" });
    }
  });

  it("403 when X-Original-URI is missing or not a smart-HTTP git URL", async () => {
    const missing = await fetch(`${server.url}/api/v1/git/auth`);
    assert.equal(missing.status, 403);
    for (const uri of ["/git/acme/widgets.git/info/refs", "/git/acme/widgets.git/objects/info/packs", "/elsewhere"]) {
      assert.equal((await askHook(server.url, { uri, user: "alice", token: rw })).status, 403, uri);
    }
  });

  it("403 for a URI with another reading (dot segments, extra segments, a repeated service=)", async () => {
    for (const uri of [
      "/git/acme/../acme/widgets.git/info/refs?service=git-upload-pack",
      "/git/x/y/acme/widgets.git/info/refs?service=git-upload-pack",
      "//a%25b/acme/widgets.git/info/refs?service=git-upload-pack",
      "/git/acme/widgets.git/info/refs?service=git-upload-pack&service=git-receive-pack",
    ]) {
      const reply = await askHook(server.url, { uri, user: "alice", token: ro });
      assert.equal(reply.status, 403, uri);
      assert.equal(((await reply.json()) as { error: { code: string } }).error.code, "not_a_git_request", uri);
    }
  });

  it("accepts URIs without the /git prefix (an external server's own layout)", async () => {
    const reply = await askHook(server.url, { uri: "/acme/widgets.git/info/refs?service=git-upload-pack", user: "alice", token: ro });
    assert.equal(reply.status, 204);
  });

  it("reads its headers whatever their case, and answers HEAD the same way", async () => {
    const basic = `Basic ${Buffer.from(`alice:${ro}`).toString("base64")}`;
    const status = (method: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request(`${server.url}/api/v1/git/auth`, { method, headers }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on("error", reject);
        request.end();
      });
    const shouting = { AUTHORIZATION: basic, "X-ORIGINAL-URI": readRefs("acme/widgets"), "X-ORIGINAL-METHOD": "GET" };
    assert.equal(await status("GET", shouting), 204);
    assert.equal(await status("HEAD", shouting), 204);
    const push = { ...shouting, "X-ORIGINAL-URI": receivePack("acme/widgets"), "X-ORIGINAL-METHOD": "POST" };
    assert.equal(await status("GET", push), 403);
    assert.equal(await status("HEAD", push), 403);
    const asWritten = { Authorization: basic, "X-Original-Uri": readRefs("acme/widgets"), "X-Original-Method": "get" };
    assert.equal(await status("GET", asWritten), 204);
    const lowerCasePush = { ...asWritten, "X-Original-Uri": receivePack("acme/widgets"), "X-Original-Method": "post" };
    assert.equal(await status("GET", lowerCasePush), 403, "a lower-case method is the same method");
  });

  it("answers a failure while deciding with a JSON 500, and goes on serving", async () => {
    // A fresh token is not cached yet, so the hook must read it: from a table that is not there.
    const { token } = await createToken(alice, { permission: "read" });
    await server.knex.raw("ALTER TABLE personal_access_tokens RENAME TO personal_access_tokens_away");
    try {
      const reply = await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token });
      assert.equal(reply.status, 500);
      assert.deepEqual(await reply.json(), { error: { code: "internal_error", message: "Internal server error" } });
    } finally {
      await server.knex.raw("ALTER TABLE personal_access_tokens_away RENAME TO personal_access_tokens");
    }
    assert.equal((await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token })).status, 204);
  });

  it("records the last use of every token it lets through", async () => {
    const tokens = [await createToken(alice, { permission: "read" }), await createToken(alice, { permission: "read" })];
    for (const t of tokens) {
      const reply = await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: t.token, ip: "203.0.113.9" });
      assert.equal(reply.status, 204);
    }
    for (const t of tokens) {
      let seen: TokenDto | undefined;
      for (let i = 0; i < 100 && !seen?.lastUsedAt; i++) {
        seen = (await alice.get<TokenDto>(`/tokens/${t.id}`)).body;
        if (!seen.lastUsedAt) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(seen?.lastUsedAt, `last use of token ${t.id} recorded`);
      assert.equal(seen?.lastUsedIp, "203.0.113.9", "the forwarded address, not the proxy's");
    }
  });
});
