import assert from "node:assert/strict";
import net from "node:net";
import { startTestServer, type TestServer } from "../support/testServer";

/** Probes the load balancer polls: GET /healthz (the process answers) and GET /readyz (it can serve). */
describe("health checks (/healthz, /readyz)", () => {
  let server: TestServer;

  /** /readyz until it answers `status` (the change feed needs a heartbeat after start), at most 5 s. */
  const readyzBecomes = async (status: number): Promise<Response> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const reply = await fetch(`${server.url}/readyz`);
      if (reply.status === status || Date.now() > deadline) return reply;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(() => server.close());

  it("answer without credentials, outside /api/v1, with no more than a status and never from a cache", async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    assert.equal(health.headers.get("cache-control"), "no-store");
    const ready = await readyzBecomes(200);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ok" });
    assert.equal((await fetch(`${server.url}/readyz`, { method: "HEAD" })).status, 200);
  });

  it("take GET and HEAD only", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const reply = await fetch(`${server.url}${path}`, { method: "POST" });
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.get("allow"), "GET, HEAD");
    }
  });

  it("/readyz answers 503 while a migration is missing, and 200 again once it is back; /healthz stays 200", async () => {
    await readyzBecomes(200);
    const row = (await server.knex("knex_migrations").orderBy("id", "desc").first()) as { id: number; name: string };
    await server.knex("knex_migrations").where("id", row.id).delete();
    try {
      const reply = await fetch(`${server.url}/readyz`);
      assert.equal(reply.status, 503);
      assert.deepEqual(await reply.json(), { status: "unavailable" }, "no detail for whoever asks");
      assert.ok(reply.headers.get("retry-after"));
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.knex("knex_migrations").insert(row);
    }
    assert.equal((await readyzBecomes(200)).status, 200);
  });

  it("/readyz answers 503 once the database cannot be reached", async () => {
    await readyzBecomes(200);
    await server.knex.destroy();
    const reply = await readyzBecomes(503);
    assert.equal(reply.status, 503);
    assert.deepEqual(await reply.json(), { status: "unavailable" });
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it("a shutdown accepts no new connection, and cuts a request still running at its timeout", async () => {
    await readyzBecomes(200);
    // A request that stays open (the rest of its body never comes) keeps the drain waiting.
    const socket = net.connect(Number(new URL(server.url).port), "127.0.0.1");
    socket.write("POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    const hanging = new Promise<string>((resolve) => {
      let answer = "";
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
      socket.on("close", () => resolve(answer === "" ? "cut" : "answered"));
      socket.on("error", () => undefined);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopped = server.shutdown(1500);
    await assert.rejects(fetch(`${server.url}/healthz`), "no new connection is accepted");
    assert.equal(await stopped, 1, "the hanging request was still running at the timeout");
    assert.equal(await hanging, "cut");
  });
});
