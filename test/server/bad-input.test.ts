import assert from "node:assert/strict";
import net from "node:net";
import type { ErrorBody } from "@clarive/shared";
import { type Client, createRepository, createToken, loginAdmin, setPatAuth, type ErrorReply } from "../support/client";
import { snapshotDatabase } from "../support/snapshot";
import { startTestServer, type TestServer } from "../support/testServer";

/** Sends raw bytes and returns the status line and body, for requests fetch() refuses to make. */
function rawRequest(url: string, raw: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(raw));
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
    socket.on("error", reject);
  });
}

describe("bad input: always a 4xx in the JSON error shape, never a 500, and nothing changes", () => {
  let server: TestServer;
  let admin: Client;
  let tokenId: number;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    await createRepository(admin, "acme", "widgets");
    tokenId = (await createToken(admin, { repositories: ["acme/widgets"] })).id;
  });
  after(() => server.close());

  const cases: {
    name: string;
    method: string;
    path: string;
    body?: string;
    headers?: Record<string, string>;
    status: number;
    code?: string;
  }[] = [
    { name: "malformed JSON", method: "POST", path: "/tokens", body: '{"description": "x",', status: 400, code: "invalid_json" },
    { name: "JSON that is not an object", method: "POST", path: "/tokens", body: '"just a string"', status: 400 },
    { name: "JSON array body", method: "PATCH", path: "/tokens/1", body: "[1,2]", status: 400 },
    {
      name: "wrong types",
      method: "POST",
      path: "/tokens",
      body: '{"description": 5, "expiresInDays": "30", "permission": true}',
      status: 400,
      code: "validation_failed",
    },
    {
      name: "unknown fields",
      method: "POST",
      path: "/tokens",
      body: '{"description":"x","expiresInDays":30,"permission":"read","admin":true}',
      status: 400,
      code: "validation_failed",
    },
    { name: "unknown field on PATCH", method: "PATCH", path: "/tokens/1", body: '{"tokenHash":"00"}', status: 400 },
    { name: "unknown field on settings", method: "PUT", path: "/settings/git", body: '{"patAuthEnabled":false,"evil":1}', status: 400 },
    {
      name: "body over 64 KiB",
      method: "POST",
      path: "/tokens",
      body: JSON.stringify({ description: "x".repeat(70_000) }),
      status: 413,
      code: "payload_too_large",
    },
    {
      name: "non-JSON content type",
      method: "POST",
      path: "/repositories",
      body: "project=a&name=b",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
    },
    { name: "id that is not an id", method: "GET", path: "/tokens/abc", status: 400 },
    { name: "negative id", method: "DELETE", path: "/tokens/-1", status: 400 },
    { name: "id beyond int4", method: "PATCH", path: "/tokens/99999999999", body: '{"active":false}', status: 400 },
    { name: "fractional id", method: "DELETE", path: "/tokens/1.5", status: 400 },
    { name: "unknown route", method: "GET", path: "/nothing-here", status: 404, code: "not_found" },
    { name: "wrong method", method: "PUT", path: "/tokens", body: "{}", status: 405, code: "method_not_allowed" },
    { name: "broken Authorization", method: "DELETE", path: "/tokens/1", headers: { authorization: "Bearer a b c" }, status: 401 },
    {
      name: "Authorization with a PAT-looking junk",
      method: "DELETE",
      path: "/tokens/1",
      headers: { authorization: "Bearer clapat_xxx" },
      status: 401,
      code: "pat_not_accepted",
    },
    {
      name: "percent-encoded traversal in names",
      method: "PATCH",
      path: "/repositories/acme/..%2F..%2Fetc",
      body: '{"patAccess":"true"}',
      status: 404,
    },
    { name: "huge query value", method: "GET", path: `/audit?limit=${"9".repeat(5000)}`, status: 400 },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const before = await snapshotDatabase(server.knex);
      const reply = await admin.request<ErrorReply>(
        c.method,
        c.path.replace("/tokens/1", `/tokens/${tokenId}`).replace("/tokens/1.5", "/tokens/1.5"),
        c.body,
        {
          ...(c.body !== undefined && { "content-type": "application/json" }),
          ...c.headers,
        },
      );
      assert.equal(reply.status, c.status, JSON.stringify(reply.body));
      assert.equal(typeof reply.body.error.code, "string");
      assert.equal(typeof reply.body.error.message, "string");
      if (c.code) assert.equal(reply.body.error.code, c.code);
      assert.equal(await snapshotDatabase(server.knex), before, "the database did not change");
    });
  }

  it("a REST path has one spelling: /API/v1/… is 404 and changes nothing", async () => {
    // Routed case-insensitively, such a write once answered before other instances had seen it.
    const before = await snapshotDatabase(server.knex);
    for (const prefix of ["/API/v1", "/Api/V1", "/api/V1"]) {
      const reply = await fetch(`${server.url}${prefix}/tokens/${tokenId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${admin.apiKey ?? ""}`, "content-type": "application/json" },
        body: '{"active":false}',
      });
      assert.equal(reply.status, 404, prefix);
    }
    assert.equal(await snapshotDatabase(server.knex), before, "the database did not change");
  });

  it("a malformed HTTP request line gets a JSON 400", async () => {
    const reply = await rawRequest(server.url, "GARBAGE\r\n\r\n");
    assert.equal(reply.status, 400);
    assert.equal((JSON.parse(reply.body) as ErrorBody).error.code, "bad_request");
  });

  it("validation errors say which field is wrong", async () => {
    const reply = await admin.post<ErrorReply>("/tokens", { description: "x", expiresInDays: 30, permission: "write" });
    assert.match(reply.body.error.message, /body\.permission/);
    assert.ok(Array.isArray(reply.body.error.details));
  });
});
