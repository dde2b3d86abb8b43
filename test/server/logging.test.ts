import assert from "node:assert/strict";
import { Client, createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { askHook, readRefs } from "../support/hook";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";

describe("request log", () => {
  const lines: string[] = [];
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ logLines: lines });
  });
  after(() => server.close());

  it("writes one structured line per request and never a password, API key or token", async () => {
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    const { token } = await createToken(admin);
    await new Client(server.url, token).get("/me");
    await admin.get(`/tokens?secret=${token}`);
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.method !== undefined);
    assert.equal(requests.length, 5);
    assert.deepEqual(
      requests.map((r) => [r.method, r.path, r.status]),
      [
        ["POST", "/api/v1/auth/login", 201],
        ["PUT", "/api/v1/settings/git", 200],
        ["POST", "/api/v1/tokens", 201],
        ["GET", "/api/v1/me", 401],
        ["GET", "/api/v1/tokens", 200],
      ],
    );
    assert.equal(requests[2]?.user, "admin");
    assert.equal(requests[3]?.error, "pat_not_accepted");
    const all = lines.join("\n");
    for (const secret of [ADMIN_PASSWORD, admin.apiKey ?? "?", token]) assert.ok(!all.includes(secret));
  });

  it("logs a token pasted into a URL path only as its hint", async () => {
    const admin = await loginAdmin(server);
    const { token } = await createToken(admin);
    lines.length = 0;
    await admin.get(`/tokens/${token}`);
    await fetch(`${server.url}/git/${token.replace("_", "%5F")}/x.git/info/refs?service=git-upload-pack`);
    const paths = lines.map((l) => (JSON.parse(l) as { path?: string }).path).filter(Boolean);
    assert.deepEqual(paths, [`/api/v1/tokens/clapat_…${token.slice(-4)}`, `/git/clapat_…${token.slice(-4)}/x.git/info/refs`]);
    assert.ok(!lines.join("\n").includes(token.slice(7)));
  });

  it("logs the auth hook, answered outside Koa, in the same shape and without the token", async () => {
    const admin = await loginAdmin(server);
    await createRepository(admin, "logs", "hooked");
    const { token } = await createToken(admin);
    lines.length = 0;
    assert.equal((await askHook(server.url, { uri: readRefs("logs/hooked"), user: "admin", token })).status, 204);
    assert.equal((await askHook(server.url, { uri: readRefs("logs/hooked"), user: "admin", token: `${token}x` })).status, 401);
    const hook = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.path === "/api/v1/git/auth")
      .map(({ method, status, user, error, ip }) => ({ method, status, user, error, ip }));
    assert.deepEqual(hook, [
      { method: "GET", status: 204, user: "admin", error: null, ip: "127.0.0.1" },
      { method: "GET", status: 401, user: null, error: "git_unauthenticated", ip: "127.0.0.1" },
    ]);
    assert.ok(!lines.join("\n").includes(token));
  });
});
