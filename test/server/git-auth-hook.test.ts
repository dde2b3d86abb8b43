import assert from "node:assert/strict";
import { generatePersonalAccessToken } from "@clarive/shared";
import { Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { askHook, pushRefs, readRefs, receivePack } from "../support/hook";
import { startTestServer, type TestServer } from "../support/testServer";

describe("auth hook for external git servers (GET /api/v1/git/auth)", () => {
  let server: TestServer;
  let admin: Client;
  let rw: string;
  let ro: string;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    const alice = await createUser(admin, server, "alice");
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
    for (const [uri, method] of [[pushRefs("acme/widgets"), "GET"], [receivePack("acme/widgets"), "POST"]] as const) {
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

  it("accepts URIs without the /git prefix (an external server's own layout)", async () => {
    const reply = await askHook(server.url, { uri: "/acme/widgets.git/info/refs?service=git-upload-pack", user: "alice", token: ro });
    assert.equal(reply.status, 204);
  });
});
