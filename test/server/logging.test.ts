import assert from "node:assert/strict";
import { Client, createToken, loginAdmin, setPatAuth } from "../support/client";
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
});
