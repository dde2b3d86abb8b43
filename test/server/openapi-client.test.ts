import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { Api } from "../../server/src/http/api";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";

/** The parts of an OpenAPI document these checks read. */
interface Schema {
  $ref?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: string[];
}
interface Example {
  $ref?: string;
  summary?: string;
  value?: unknown;
}
interface MediaType {
  schema?: Schema;
  examples?: Record<string, Example>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; description?: string; schema?: Schema }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  tags?: { name: string; description?: string }[];
  components: { schemas: Record<string, Schema>; examples?: Record<string, Example> };
}

const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));

function operations(document: Document): { method: string; path: string; where: string; op: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method, path, where: `${method} ${path}`, op })),
  );
}

/** Each request body an operation is tried with: its examples, an empty object, and JSON that does not parse. */
function bodiesOf(op: Operation): (string | undefined)[] {
  const media = op.requestBody?.content["application/json"];
  if (!media) return [undefined];
  return [...Object.values(media.examples ?? {}).map((e) => JSON.stringify(e.value)), "{}", "{"];
}

/** Redocly's `recommended` ruleset, the one `redocly lint` applies by default; offline (no external refs). */
async function lint(document: unknown): Promise<string[]> {
  const config = await createConfig({ extends: ["recommended"] });
  const problems = await lintFromString({ source: JSON.stringify(document, null, 2), absoluteRef: "/openapi.json", config });
  return problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`);
}

/** Properties (at any depth) whose schema says nothing about what they mean (a $ref's component is checked itself). */
function undescribedProperties(schema: Schema, where: string): string[] {
  const found: string[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (!property.description && !property.$ref) found.push(`${where}.${name}`);
    found.push(...undescribedProperties(property, `${where}.${name}`));
  }
  for (const part of [schema.items, ...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    if (part) found.push(...undescribedProperties(part, where));
  }
  return found;
}

/** Type-checks the files as a strict TypeScript program would be; the diagnostics, one line each. */
function typeCheck(dir: string, entry: string): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    noUncheckedIndexedAccess: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    skipLibCheck: true,
  };
  const program = ts.createProgram([path.join(dir, entry)], options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${path.basename(d.file.fileName)}:${line + 1}: ${message}`;
  });
}

// What a client developer writes against the generated types: log in, create a token, list tokens,
// and branch on a typed error code.
const PROGRAM = `import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type ErrorCode = components["schemas"]["Error"]["error"]["code"];

export async function run(baseUrl: string, username: string, password: string) {
  const client = createClient<paths>({ baseUrl });
  const login = await client.POST("/api/v1/auth/login", { body: { username, password, label: "generated client" } });
  if (!login.data) throw new Error(\`login refused: \${login.error?.error.code}\`);
  const headers = { Authorization: \`Bearer \${login.data.apiKey}\` };
  // A fresh server has token authentication off until an administrator turns it on.
  const settings = await client.PUT("/api/v1/settings/git", { headers, body: { patAuthEnabled: true } });
  if (!settings.data?.patAuthEnabled) throw new Error(\`settings refused: \${settings.error?.error.code}\`);

  const created = await client.POST("/api/v1/tokens", {
    headers,
    body: { description: "from the generated client", expiresInDays: 30, permission: "read" },
  });
  if (!created.data) throw new Error(\`create refused: \${created.error?.error.code}\`);
  const secret: string = created.data.token;

  const listed = await client.GET("/api/v1/tokens", { headers });
  if (!listed.data) throw new Error(\`list refused: \${listed.error?.error.code}\`);
  const descriptions: string[] = listed.data.map((t) => t.description);

  const missing = await client.GET("/api/v1/tokens/{id}", { headers, params: { path: { id: 2_000_000_000 } } });
  const code: ErrorCode | undefined = missing.error?.error.code;
  return { user: login.data.user.username, tokenId: created.data.id, secret, descriptions, missingCode: code, missingStatus: missing.response.status };
}
`;

// The same calls with three mistakes a generated client must catch before anything runs.
const WRONG_PROGRAM = `import createClient from "openapi-fetch";
import type { paths } from "./schema";

export async function run(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  await client.POST("/api/v1/tokens", { body: { description: "x", expiresInDays: 30, permission: "write" } });
  await client.GET("/api/v1/tokenz");
  const listed = await client.GET("/api/v1/tokens");
  return listed.data?.[0]?.secret;
}
`;

describe("OpenAPI document for client generators", () => {
  let server: TestServer;
  let document: Document;
  let dir: string;

  before(async () => {
    server = await startTestServer();
    const reply = await fetch(`${server.url}/api/v1/openapi.json`);
    assert.equal(reply.status, 200);
    document = (await reply.json()) as Document;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-openapi-client-"));
    fs.symlinkSync(NODE_MODULES, path.join(dir, "node_modules"), "dir");
    // What `npx openapi-typescript <url>/api/v1/openapi.json -o schema.ts` writes (README, "Generating a client").
    fs.writeFileSync(path.join(dir, "schema.ts"), astToString(await openapiTS(document as unknown as Parameters<typeof openapiTS>[0])));
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("passes Redocly's recommended rules without an error or a warning", async () => {
    // A probe's or a scraper's GET of /healthz, /readyz and /metrics has no client error to answer
    // with (no parameters, no body, no authentication): the one 4XX rule does not fit them.
    const probes = /^warn operation-4xx-response: .* at #\/paths\/~1(healthz|readyz|metrics)\/get\/responses$/;
    assert.deepEqual(
      (await lint(document)).filter((problem) => !probes.test(problem)),
      [],
    );
  });

  it("is linted for real: a request example that breaks its schema is reported", async () => {
    const broken = structuredClone(document);
    const example = broken.paths["/api/v1/tokens"]?.post?.requestBody?.content["application/json"]?.examples?.readOneRepository;
    assert.ok(example, "createToken has the readOneRepository example");
    example.value = { ...(example.value as object), permission: "write" };
    const problems = await lint(broken);
    assert.ok(
      problems.some((p) => p.includes("no-invalid-media-type-examples") && p.includes("/~1api~1v1~1tokens/post/")),
      problems.join("\n"),
    );
  });

  it("gives every operation a unique camelCase operationId, a summary, a description and a known tag", () => {
    const tags = new Set((document.tags ?? []).filter((t) => t.description).map((t) => t.name));
    const ids = new Map<string, string>();
    const problems: string[] = [];
    for (const { where, op } of operations(document)) {
      if (!op.operationId || !/^[a-z][A-Za-z0-9]*$/.test(op.operationId)) problems.push(`${where}: operationId ${op.operationId}`);
      else if (ids.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} also on ${ids.get(op.operationId)}`);
      else ids.set(op.operationId, where);
      if (!op.summary?.trim()) problems.push(`${where}: no summary`);
      if (!op.description || op.description.length < 40) problems.push(`${where}: no description worth the name`);
      if (op.tags?.length !== 1 || !tags.has(op.tags[0] ?? "")) problems.push(`${where}: tags ${JSON.stringify(op.tags)}`);
    }
    assert.deepEqual(problems, []);
    assert.ok(ids.size >= 24, `${ids.size} operations`);
  });

  it("gives every request body examples, and every parameter, schema and property a description", () => {
    const problems: string[] = [];
    for (const { where, op } of operations(document)) {
      const body = op.requestBody?.content["application/json"];
      if (op.requestBody && Object.keys(body?.examples ?? {}).length === 0) problems.push(`${where}: request body without examples`);
      for (const p of op.parameters ?? []) if (!p.description) problems.push(`${where}: parameter ${p.in} ${p.name}`);
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = response.content?.["application/json"]?.schema;
        if (schema) problems.push(...undescribedProperties(schema, `${where} ${status}`));
      }
      if (body?.schema) problems.push(...undescribedProperties(body.schema, `${where} body`));
    }
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      if (!schema.description) problems.push(`schema ${name}`);
      problems.push(...undescribedProperties(schema, name));
    }
    assert.equal(
      problems.length,
      0,
      `describe these in server/src/schemas (.openapi({ description })), give examples in api.route():\n${problems.join("\n")}`,
    );
  });

  it("documents each error answer as the one Error schema, with an example for every code it names", () => {
    const codes = new Set(document.components.schemas.Error?.properties?.error?.properties?.code?.enum ?? []);
    assert.ok(codes.has("validation_failed") && codes.has("token_not_found") && codes.has("internal_error"), [...codes].join(" "));
    const problems: string[] = [];
    for (const { where, op } of operations(document)) {
      // Probes outside /api/v1 (health, metrics) answer tersely by design, not with the API's errors.
      if (!where.includes(" /api/v1/")) continue;
      const statuses = Object.keys(op.responses).map(Number);
      if (!statuses.some((s) => s >= 400 && s < 500)) problems.push(`${where}: no 4xx answer`);
      for (const status of statuses.filter((s) => s >= 400)) {
        const media = op.responses[status]?.content?.["application/json"];
        if (media?.schema?.$ref !== "#/components/schemas/Error")
          problems.push(`${where} ${status}: schema ${JSON.stringify(media?.schema)}`);
        const examples = Object.entries(media?.examples ?? {});
        if (examples.length === 0) problems.push(`${where} ${status}: no example`);
        for (const [name, example] of examples) {
          const resolved = example.$ref ? document.components.examples?.[example.$ref.replace("#/components/examples/", "")] : example;
          const code = (resolved?.value as { error?: { code?: string } } | undefined)?.error?.code;
          if (code !== name || !codes.has(code)) problems.push(`${where} ${status}: example ${name} has code ${code}`);
          if (!op.responses[status]?.description.includes(`\`${name}\``))
            problems.push(`${where} ${status}: ${name} not in the description`);
        }
      }
    }
    assert.deepEqual(problems, []);
    const createToken = document.paths["/api/v1/tokens"]?.post?.responses ?? {};
    assert.deepEqual(Object.keys(createToken["403"]?.content?.["application/json"]?.examples ?? {}), ["pat_auth_disabled"]);
    assert.ok(Object.keys(createToken["401"]?.content?.["application/json"]?.examples ?? {}).includes("invalid_api_key"));
  });

  it("generates a TypeScript client that type-checks, and runs, login, create token and list tokens", async () => {
    fs.writeFileSync(path.join(dir, "program.ts"), PROGRAM);
    assert.deepEqual(typeCheck(dir, "program.ts"), []);

    const program = (await import(pathToFileURL(path.join(dir, "program.ts")).href)) as {
      run: (baseUrl: string, username: string, password: string) => Promise<Record<string, unknown>>;
    };
    const result = await program.run(server.url, "admin", ADMIN_PASSWORD);
    assert.equal(result.user, "admin");
    assert.match(String(result.secret), /^clapat_/);
    assert.deepEqual(result.descriptions, ["from the generated client"]);
    assert.equal(result.missingStatus, 404);
    assert.equal(result.missingCode, "token_not_found");
  });

  it("answers every operation, whoever calls it, only with statuses and error codes the document lists", async () => {
    const login = async (username: string, password: string): Promise<string> => {
      const reply = await fetch(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
      assert.equal(reply.status, 201);
      return ((await reply.json()) as { apiKey: string }).apiKey;
    };
    const admin = await login("admin", ADMIN_PASSWORD);
    const created = await fetch(`${server.url}/api/v1/users`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
      body: JSON.stringify({ username: "carol", password: "carol's passphrase" }),
    });
    assert.equal(created.status, 201);
    const callers: [string, string | undefined][] = [
      ["anonymous", undefined],
      ["a user", await login("carol", "carol's passphrase")],
      ["an administrator", admin],
    ];
    // In the document's order, but deletions after the rest and logging out last, so the examples
    // meet the repositories, users and tokens the earlier ones created.
    const rank = ({ method, path }: { method: string; path: string }) => (path.endsWith("/logout") ? 2 : method === "delete" ? 1 : 0);
    const ordered = operations(document).sort((a, b) => rank(a) - rank(b));
    const undocumented: string[] = [];
    let requests = 0;
    const seen = new Set<string>();
    for (const { method, path: template, where, op } of ordered) {
      const example = (name: string, where: string) => op.parameters?.find((p) => p.name === name && p.in === where)?.schema;
      const url = template.replace(/\{(\w+)\}/g, (_, name: string) =>
        encodeURIComponent(String((example(name, "path") as { example?: unknown } | undefined)?.example)),
      );
      const headerParams = Object.fromEntries(
        (op.parameters ?? [])
          .filter((p) => p.in === "header")
          .map((p) => [p.name, String((p.schema as { example?: unknown } | undefined)?.example)]),
      );
      for (const [who, apiKey] of callers) {
        for (const body of bodiesOf(op)) {
          const reply = await fetch(`${server.url}${url}`, {
            method: method.toUpperCase(),
            headers: {
              ...headerParams,
              ...(apiKey && { authorization: `Bearer ${apiKey}` }),
              ...(body !== undefined && { "content-type": "application/json" }),
            },
            ...(body !== undefined && { body }),
          });
          requests++;
          const text = await reply.text();
          const documented = op.responses[String(reply.status)];
          seen.add(reply.status < 400 ? String(reply.status) : ((JSON.parse(text) as { error?: { code?: string } }).error?.code ?? "?"));
          const tried = `${where} as ${who}${body === undefined ? "" : ` with ${body.slice(0, 60)}`}`;
          if (!documented) {
            undocumented.push(`${tried}: status ${reply.status} (${text.slice(0, 100)})`);
          } else if (reply.status >= 400) {
            const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? "";
            const codes = Object.keys(documented.content?.["application/json"]?.examples ?? {});
            if (!codes.includes(code)) undocumented.push(`${tried}: ${reply.status} ${code}, documented: ${codes.join(" ")}`);
          }
        }
      }
    }
    assert.ok(requests > 150, `${requests} requests`);
    // The requests reach past the checks at the door: successes and the services' own refusals.
    for (const answer of [
      "200",
      "201",
      "204",
      "unauthenticated",
      "admin_required",
      "validation_failed",
      "invalid_json",
      "token_not_found",
    ]) {
      assert.ok(seen.has(answer), `${answer} among ${[...seen].join(" ")}`);
    }
    assert.equal(undocumented.length, 0, `answers missing from the document (errors: in server/src/routes):\n${undocumented.join("\n")}`);
  });

  it("refuses, when the service starts, an operation whose operationId is taken or not camelCase", () => {
    const api = new Api(server.api.deps);
    const hook = {
      method: "get",
      path: "/example",
      summary: "An example",
      description: "An operation documented twice",
      tag: "git",
      auth: "none",
      success: { status: 204, description: "Done" },
    } as const;
    api.document({ ...hook, operationId: "getExample" });
    assert.throws(
      () => api.document({ ...hook, path: "/other", operationId: "getExample" }),
      /operationId "getExample" must be camelCase and unique/,
    );
    assert.throws(() => api.document({ ...hook, path: "/third", operationId: "get-example" }), /camelCase/);
  });

  it("makes the generated client refuse, at compile time, a wrong body, an unknown path and an unknown field", () => {
    fs.writeFileSync(path.join(dir, "wrong.ts"), WRONG_PROGRAM);
    const diagnostics = typeCheck(dir, "wrong.ts");
    assert.ok(
      diagnostics.some((d) => d.startsWith("wrong.ts:6:") && d.includes('"write"')),
      diagnostics.join("\n"),
    );
    assert.ok(
      diagnostics.some((d) => d.startsWith("wrong.ts:7:")),
      diagnostics.join("\n"),
    );
    assert.ok(
      diagnostics.some((d) => d.startsWith("wrong.ts:9:") && d.includes("secret")),
      diagnostics.join("\n"),
    );
  });
});
