import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
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
  type BodyTemplate,
  type FuzzValues,
} from "../support/fuzz";
import { RawHttpPool } from "../support/fuzzHttp";
import { FUZZ_THROTTLE, formatStats, fuzzInputs, fuzzSeed, fuzzSurface, problemReport } from "../support/fuzzRunner";
import { startTestServer, type TestServer } from "../support/testServer";

const ROUTES = [
  "/git/{project}/{name}/info/refs?service=git-upload-pack",
  "/git/{project}/{name}/info/refs?service=git-receive-pack",
  "/git/{project}/{name}/git-upload-pack",
  "/git/{project}/{name}/git-receive-pack",
  "/git/{project}/{name}/info/refs",
  "/git/{project}/{name}/git-upload-pack",
  "/git/{project}/{name}/git-receive-pack",
  "/git/{project}/{name}/objects/info/packs",
  "/git/{project}/{name}/HEAD",
  "/git/{project}/info/refs",
  "/git/{project}/{name}/x/info/refs",
];
const PARAMS = {
  // "plain" is a file where its project folder should be, "acme/broken.git" a file where the repository should be.
  project: ["acme", "acme", "plain", "ACME", "nothing", "git"],
  name: ["widgets.git", "widgets.git", "widgets", "broken.git", "app.git", "WIDGETS.git", "nothing.git", "widgets.git.git"],
};

/** What git sends: pkt-lines (valid, truncated, lying about their length), packs that are not, nothing. */
const gitBodyArb: fc.Arbitrary<BodyTemplate> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        "0000",
        "0009done\n0000",
        "0032want 0000000000000000000000000000000000000000\n00000009done\n",
        "0014command=ls-refs\n0000",
        "ffff",
        "000",
        "zzzz",
        "0004",
        "00a00000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/main\u0000report-status\n0000PACK",
        "0001",
        "0002",
      )
      .map((text) => ({ kind: "text" as const, text })),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ kind: "bytes" as const, bytes })) },
  { weight: 1, arbitrary: fc.constantFrom("0000", "0009done\n0000").map((text) => ({ kind: "gzip" as const, text })) },
);

const gitHeadersArb: fc.Arbitrary<[string, string][]> = fc
  .tuple(
    fc.option(
      fc.constantFrom(
        "application/x-git-upload-pack-request",
        "application/x-git-receive-pack-request",
        "application/json",
        "text/plain",
        "application/x-git-upload-pack-request; charset=utf-8",
        "",
        "garbage",
      ),
      { freq: 3 },
    ),
    fc.option(fc.constantFrom("version=2", "version=1", "version=2:object-format=sha1", "evil=$(id)", "a".repeat(300)), { freq: 3 }),
    headersArb,
  )
  .map(([type, protocol, rest]) => [
    ...(type !== null ? [["Content-Type", type] as [string, string]] : []),
    ...(protocol !== null ? [["Git-Protocol", protocol] as [string, string]] : []),
    ...rest,
  ]);

describe("fuzz: the git routes (/git/…) never answer 5xx, and refused requests change nothing", function () {
  this.timeout(600_000);
  let server: TestServer;
  let pool: RawHttpPool;
  const values: FuzzValues = {};

  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: "true" }, throttle: FUZZ_THROTTLE });
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    const alice = await createUser(admin, server, "alice");
    for (const [project, name] of [
      ["acme", "widgets"],
      ["acme", "broken"],
      ["plain", "app"],
    ] as const) {
      await createRepository(admin, project, name);
      await admin.put(`/repositories/${project}/${name}/members/alice`, { access: "write" });
    }
    // Folders gone wrong on disk behind the database's back: a plain file where a repository
    // folder should be, and where a project folder should be.
    const reposDir = server.config.reposDir;
    fs.rmSync(path.join(reposDir, "acme", "broken.git"), { recursive: true, force: true });
    fs.writeFileSync(path.join(reposDir, "acme", "broken.git"), "not a repository");
    fs.rmSync(path.join(reposDir, "plain"), { recursive: true, force: true });
    fs.writeFileSync(path.join(reposDir, "plain"), "not a folder");
    const live = await createToken(alice, { permission: "read-write" });
    const dead = await createToken(alice, { permission: "read" });
    await alice.patch(`/tokens/${dead.id}`, { active: false });
    Object.assign(values, { apiKey: admin.apiKey, user: "alice", pat: live.token, deadPat: dead.token });
    pool = new RawHttpPool(server.url, 8);
  });
  after(async () => {
    pool?.close();
    await server?.close();
  });

  it("10,000 generated requests: methods, paths, pkt-line bodies and headers", async () => {
    const stats = await fuzzSurface(
      {
        name: "git",
        knex: server.knex,
        pool,
        arbitrary: requestArb({
          target: routePathArb(ROUTES, PARAMS),
          method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("GET", "POST") }, { weight: 1, arbitrary: methodArb }),
          body: gitBodyArb,
          headers: gitHeadersArb,
          // Mostly alice's live token, so requests reach git itself.
          auth: fc.oneof(
            { weight: 3, arbitrary: fc.constant({ kind: "basic" as const, user: placeholder("user"), password: placeholder("pat") }) },
            { weight: 2, arbitrary: authArb },
          ),
        }),
        values: () => ({ ...values, patBadChecksum: badChecksum(values.pat ?? "") }),
        // git requests never change the service's data, not even accepted ones: every batch is compared.
        accepted: () => false,
        // Failed logins are audited, and so is a token's first use from a new address.
        refusalAudit: ["git.auth_failed", "token.used_from_new_ip"],
      },
      { seed: fuzzSeed(1202), inputs: fuzzInputs(10_000) },
    );
    console.log(formatStats("git", stats));
    assert.equal(stats.problems.length, 0, problemReport(stats.problems));
    assert.equal(stats.comparedBatches, stats.batches);
  });
});
