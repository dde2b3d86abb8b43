import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startTestServer, type TestServer } from "../support/testServer";

describe("OpenAPI document", () => {
  let server: TestServer;
  let document: { openapi: string; paths: Record<string, Record<string, unknown>> };

  before(async () => {
    server = await startTestServer();
    const reply = await fetch(`${server.url}/api/v1/openapi.json`);
    assert.equal(reply.status, 200);
    document = (await reply.json()) as typeof document;
  });
  after(() => server.close());

  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    assert.equal(document.openapi, "3.1.0");
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
  });

  it("documents every route the router serves, and nothing else", () => {
    const served = server.api.router.stack.flatMap((layer) =>
      layer.methods.filter((m) => m !== "HEAD").map((m) => `${m.toLowerCase()} ${String(layer.path).replace(/:(\w+)/g, "{$1}")}`),
    );
    // Answered before Koa (http/authHook.ts, http/health.ts, metrics/endpoint.ts), only documented in the router's API.
    served.push("get /api/v1/git/auth", "get /healthz", "get /readyz", "get /metrics");
    const documented = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    assert.ok(served.length >= 20, `router knows ${served.length} routes`);
    assert.deepEqual([...new Set(served)].sort(), documented.sort());
  });

  it("documents /healthz, /readyz and /metrics as the service answers them: plain text, no authentication", async () => {
    for (const [path, statuses] of [
      ["/healthz", ["200"]],
      ["/readyz", ["200", "503"]],
      ["/metrics", ["200"]],
    ] as const) {
      const operation = document.paths[path]?.get as {
        security: unknown[];
        responses: Record<string, { content: Record<string, unknown> }>;
      };
      assert.deepEqual(operation.security, [], path);
      assert.deepEqual(Object.keys(operation.responses).sort(), [...statuses], path);
      const reply = await fetch(`${server.url}${path}`);
      assert.equal(String(reply.status), statuses[0], path);
      assert.ok(
        Object.keys(operation.responses[statuses[0]]!.content).some((type) => reply.headers.get("content-type")?.startsWith(type)),
        path,
      );
    }
  });

  it("is browsable at /docs with assets served locally", async () => {
    const page = await fetch(`${server.url}/docs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /openapi\.json/);
    for (const asset of html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)) {
      const reply = await fetch(`${server.url}${asset[1]}`);
      assert.equal(reply.status, 200, asset[1]);
      assert.ok((await reply.arrayBuffer()).byteLength > 1000);
    }
  });
});
