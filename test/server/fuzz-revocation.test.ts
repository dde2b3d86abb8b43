import assert from "node:assert/strict";
import fc from "fast-check";
import { generatePersonalAccessToken } from "@clarive/shared";
import { createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import {
  authArb,
  badChecksum,
  bodyArb,
  headersArb,
  methodArb,
  placeholder,
  requestArb,
  routePathArb,
  type FuzzValues,
} from "../support/fuzz";
import { RawHttpPool } from "../support/fuzzHttp";
import { FUZZ_THROTTLE, formatStats, fuzzInputs, fuzzSeed, fuzzSurface, problemReport } from "../support/fuzzRunner";
import { startTestServer, type TestServer } from "../support/testServer";

/**
 * What a report may hold: tokens nobody holds, tokens already dead, tokens with a wrong
 * checksum, text around them, strings at and past the length limit. Never a live token: that
 * report is accepted and changes data, which the revocation suite checks.
 */
const entryArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(placeholder("deadPat"), placeholder("patBadChecksum"), generatePersonalAccessToken(), "clapat_", "clapi_x"),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(placeholder("deadPat"), placeholder("patBadChecksum"), "clapat_zz"),
        fc.string({ maxLength: 30 }),
      )
      .map(([before, token, after]) => `${before}${token}${after}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `https://alice:${placeholder("deadPat")}@git.example.com/git/acme/widgets`,
      `token=${placeholder("deadPat")}&x=1`,
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(8192, 8193, 20_000).map((n) => `clapat_${"A".repeat(n - 7)}`) },
  { weight: 2, arbitrary: fc.string({ maxLength: 50 }) },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant({}), fc.constant([]), fc.jsonValue({ maxDepth: 2 })),
  },
);

const reportBodyArb = fc
  .oneof(
    { weight: 6, arbitrary: fc.array(entryArb, { minLength: 1, maxLength: 5 }).map((credentials) => ({ credentials })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(0, 1, 100, 101).map((n) => ({ credentials: Array.from({ length: n }, () => placeholder("deadPat")) })),
    },
    {
      weight: 2,
      arbitrary: fc.record(
        {
          credentials: fc.oneof(fc.array(entryArb, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
          extra: fc.jsonValue({ maxDepth: 1 }),
          token: entryArb,
        },
        { requiredKeys: [] },
      ),
    },
  )
  .map((body) => JSON.stringify(body));

describe("fuzz: the revocation endpoint (POST /api/v1/credentials/revoke) never answers 5xx, and changes nothing without a live token", function () {
  this.timeout(600_000);
  let server: TestServer;
  let pool: RawHttpPool;
  const values: FuzzValues = {};
  let liveTokenId: number;

  before(async () => {
    // Reports are counted per client address: generated X-Forwarded-For headers spread them over many.
    server = await startTestServer({ env: { TRUST_PROXY: "true" }, throttle: FUZZ_THROTTLE });
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    const alice = await createUser(admin, server, "alice");
    const live = await createToken(alice, { permission: "read-write" });
    liveTokenId = live.id;
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

  it("10,000 generated reports: bodies, entries, methods, paths and headers", async () => {
    const stats = await fuzzSurface(
      {
        name: "revocation",
        knex: server.knex,
        pool,
        arbitrary: requestArb({
          method: fc.oneof({ weight: 8, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: methodArb }),
          target: fc.oneof(
            { weight: 8, arbitrary: fc.constant("/api/v1/credentials/revoke") },
            { weight: 1, arbitrary: routePathArb(["/api/v1/credentials/revoke"], {}) },
          ),
          // Mostly a JSON report; sometimes no Content-Type, another one, or an encoding.
          headers: fc.oneof(
            {
              weight: 8,
              arbitrary: fc
                .tuple(headersArb, fc.option(fc.ipV4(), { freq: 4 }))
                .map(([headers, ip]): [string, string][] => [
                  ["Content-Type", "application/json"],
                  ...(ip !== null ? [["X-Forwarded-For", ip] as [string, string]] : []),
                  ...headers,
                ]),
            },
            { weight: 1, arbitrary: headersArb },
          ),
          body: fc.oneof(
            { weight: 4, arbitrary: reportBodyArb.map((text) => ({ kind: "text" as const, text })) },
            { weight: 1, arbitrary: bodyArb(reportBodyArb) },
          ),
          // No login needed; a key or token sent anyway changes nothing.
          auth: fc.oneof({ weight: 3, arbitrary: fc.constant({ kind: "none" as const }) }, { weight: 1, arbitrary: authArb }),
        }),
        values: () => ({ ...values }),
        // No live token is ever reported, so even an accepted (202) report changes nothing but its counter.
        accepted: () => false,
        refusalAudit: ["login.failed"],
      },
      { seed: fuzzSeed(1204), inputs: fuzzInputs(10_000) },
    );
    console.log(formatStats("revocation", stats));
    assert.equal(stats.problems.length, 0, problemReport(stats.problems));
    assert.equal(stats.comparedBatches, stats.batches);
    assert.ok((stats.statuses[202] ?? 0) > 1000, JSON.stringify(stats.statuses));
    // The live token survived every report.
    const live: { active: boolean } | undefined = await server.knex("personal_access_tokens").where({ id: liveTokenId }).first("active");
    assert.equal(live?.active, true);
  });
});
