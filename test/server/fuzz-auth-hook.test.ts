import assert from "node:assert/strict";
import fc from "fast-check";
import { createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import {
  authArb,
  badChecksum,
  headersArb,
  methodArb,
  placeholder,
  requestArb,
  routePathArb,
  type FuzzValues,
  type RequestTemplate,
} from "../support/fuzz";
import { RawHttpPool } from "../support/fuzzHttp";
import { FUZZ_THROTTLE, formatStats, fuzzInputs, fuzzSeed, fuzzSurface, problemReport } from "../support/fuzzRunner";
import { startTestServer, type TestServer } from "../support/testServer";

/** What nginx forwards as X-Original-URI ($request_uri, raw): the git URLs, with and without /git. */
const ORIGINAL_ROUTES = [
  "/git/{project}/{name}/info/refs?service=git-upload-pack",
  "/git/{project}/{name}/info/refs?service=git-upload-pack",
  "/git/{project}/{name}/git-upload-pack",
  "/git/{project}/{name}/info/refs?service=git-receive-pack",
  "/git/{project}/{name}/git-receive-pack",
  "/git/{project}/{name}/info/refs?service=git-receive-pack",
  "/git/{project}/{name}/git-upload-pack",
  "/git/{project}/{name}/git-receive-pack",
  "/{project}/{name}/info/refs?service=git-upload-pack",
  "/{project}/{name}/git-receive-pack",
  "/git/{project}/{name}/info/refs",
  "/git/{project}/{name}/objects/info/packs",
  "/{project}/{name}/x/git-upload-pack",
];
const PARAMS = {
  project: ["acme", "acme", "acme", "acme", "acme", "ACME", "nothing", "git", "a%25b", ""],
  name: ["widgets.git", "widgets.git", "widgets.git", "widgets.git", "widgets", "WIDGETS.git", "nothing.git"],
};

const originalMethodArb = (): fc.Arbitrary<string | null> =>
  fc.option(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("GET", "POST") },
      { weight: 2, arbitrary: fc.constantFrom("get", "post", "Post", "HEAD", "PUT", "PROPFIND", "", " GET", "GET ", "X".repeat(17)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    ),
    { freq: 6 },
  );

/** The URI with the method git uses for it (mostly), as nginx forwards both. */
const originalArb: fc.Arbitrary<[string, string | null]> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(
        routePathArb(ORIGINAL_ROUTES, PARAMS),
        fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        originalMethodArb(),
      )
      .map(([uri, gitsOwn, method]): [string, string | null] => [
        uri,
        gitsOwn ? (/pack$/.test(uri.split("?")[0] ?? "") ? "POST" : "GET") : method,
      ]),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(
        "//a%25b/acme/widgets.git/info/refs?service=git-upload-pack",
        "//acme/widgets.git/info/refs?service=git-upload-pack",
        "/git/acme/widgets.git/info/refs?service=git-upload-pack&service=git-receive-pack",
        "/git/acme/widgets.git/info/refs?service=%67it-upload-pack",
        "http://evil.example/git/acme/widgets.git/info/refs?service=git-upload-pack",
        "/git/acme/widgets.git/info/refs?service=git-upload-pack#x",
        "*",
        "",
        " ",
        "/",
        `/git/acme/widgets.git/info/refs?service=git-upload-pack&${"a".repeat(9000)}`,
      ),
      originalMethodArb(),
    ),
  },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 60 }), originalMethodArb()) },
  { weight: 1, arbitrary: fc.tuple(routePathArb(ORIGINAL_ROUTES, PARAMS), originalMethodArb()) },
);

/** A hook request: nginx's auth_request subrequest, with every header it forwards generated. */
const hookRequestArb: fc.Arbitrary<RequestTemplate> = fc
  .tuple(
    requestArb({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant("GET") }, { weight: 1, arbitrary: methodArb }),
      target: fc.oneof(
        { weight: 12, arbitrary: fc.constant("/api/v1/git/auth") },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            "/api/v1/git/auth?x=1",
            "/api/v1/git/auth?",
            "/api/v1/git/auth/",
            "/API/v1/git/auth",
            "/api/v1/git//auth",
            "/api/v1/git/auth%00",
          ),
        },
      ),
      headers: headersArb,
      body: fc.constant({ kind: "none" as const }),
      // Mostly alice's live token (or a variant of it), so decisions go past authentication.
      auth: fc.oneof(
        { weight: 3, arbitrary: fc.constant({ kind: "basic" as const, user: placeholder("user"), password: placeholder("pat") }) },
        { weight: 3, arbitrary: authArb },
      ),
    }),
    originalArb,
    fc.constantFrom("x-original-uri", "X-Original-URI", "X-ORIGINAL-URI"),
  )
  .map(([request, [uri, method], uriHeader]) => ({
    ...request,
    headers: [
      // Header values cannot hold CR or LF; everything else is sent as generated.
      [uriHeader, uri.replace(/[\r\n]/g, "")] as [string, string],
      ...(method !== null ? [["X-Original-Method", method.replace(/[\r\n]/g, "")] as [string, string]] : []),
      ...request.headers,
    ],
  }));

describe("fuzz: the auth hook (GET /api/v1/git/auth) never answers 5xx, and refused requests change nothing", function () {
  this.timeout(600_000);
  let server: TestServer;
  let pool: RawHttpPool;
  const values: FuzzValues = {};

  before(async () => {
    // Behind its proxy, as the nginx example runs it.
    server = await startTestServer({ env: { TRUST_PROXY: "true" }, throttle: FUZZ_THROTTLE });
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    const alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    const live = await createToken(alice, { permission: "read-write" });
    const dead = await createToken(alice, { permission: "read" });
    await alice.patch(`/tokens/${dead.id}`, { active: false });
    Object.assign(values, {
      apiKey: admin.apiKey,
      user: "alice",
      pat: live.token,
      deadPat: dead.token,
      patBadChecksum: badChecksum(live.token),
    });
    pool = new RawHttpPool(server.url, 8);
  });
  after(async () => {
    pool?.close();
    await server?.close();
  });

  it("10,000 generated requests: X-Original-URI, X-Original-Method, Authorization and other headers", async () => {
    const stats = await fuzzSurface(
      {
        name: "auth hook",
        knex: server.knex,
        pool,
        arbitrary: hookRequestArb,
        values: () => ({ ...values }),
        // The hook only decides: not even its 204s change data, so every batch is compared.
        accepted: () => false,
        // Failed logins are audited, and so is a token's first use from a new address.
        refusalAudit: ["git.auth_failed", "token.used_from_new_ip"],
      },
      { seed: fuzzSeed(1203), inputs: fuzzInputs(10_000) },
    );
    console.log(formatStats("auth hook", stats));
    assert.equal(stats.problems.length, 0, problemReport(stats.problems));
    assert.equal(stats.comparedBatches, stats.batches);
    // Real decisions were made, not only refusals of malformed questions.
    assert.ok((stats.statuses[204] ?? 0) > 100 && (stats.statuses[401] ?? 0) > 100, JSON.stringify(stats.statuses));
  });
});
