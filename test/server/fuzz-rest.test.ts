import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import {
  authArb,
  badChecksum,
  bodyArb,
  methodArb,
  fieldsBodyArb,
  pathArb,
  placeholder,
  requestArb,
  routePathArb,
  type FuzzValues,
} from "../support/fuzz";
import { RawHttpPool } from "../support/fuzzHttp";
import { FUZZ_THROTTLE, acceptedWrite, formatStats, problemReport, fuzzInputs, fuzzSeed, fuzzSurface } from "../support/fuzzRunner";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";

/** The REST API's own words, so generated paths reach real routes and real resources. */
const WORDS = [
  "auth",
  "login",
  "logout",
  "me",
  "tokens",
  "users",
  "repositories",
  "settings",
  "git",
  "members",
  "audit",
  "credentials",
  "revoke",
  "rotate",
  "acme",
  "widgets",
  "blocked",
  "alice",
  "admin",
  placeholder("tokenId"),
  "1",
  "2",
];

const name = fc.constantFrom("acme", "widgets", "blocked", "new-repo", "Acme", "WIDGETS", "a/b", "..", ".git", "x".repeat(300), "");
const FIELDS = {
  username: fc.constantFrom("alice", "admin", "bob", placeholder("pat"), "a\u0000b", "-x", "ALICE", "carol"),
  password: fc.constantFrom(ADMIN_PASSWORD, "alice-password", "short", "p".repeat(2000), placeholder("pat"), "a-new-password"),
  isAdmin: fc.boolean(),
  active: fc.boolean(),
  description: fc.string({ maxLength: 30 }),
  permission: fc.constantFrom("read", "read-write", "write", "READ"),
  expiresInDays: fc.integer({ min: -5, max: 4000 }),
  expiresAt: fc.constantFrom("2030-01-01", "2030-01-01T00:00:00Z", "1999-01-01", "not a date", "2030-02-30"),
  repositories: fc.array(fc.constantFrom("acme/widgets", "acme/nothing", "ACME/widgets", "../x", ""), { maxLength: 3 }),
  project: name,
  name,
  patAccess: fc.constantFrom("true", "false", "inherit", true, "yes"),
  pushProtection: fc.constantFrom("true", "false", "inherit", true),
  access: fc.constantFrom("read", "write", "admin", "none"),
  patAuthEnabled: fc.boolean(),
  maxLifetimeDays: fc.integer({ min: -1, max: 5000 }),
  graceMinutes: fc.integer({ min: -1, max: 100_000 }),
  credentials: fc.array(fc.constantFrom(placeholder("deadPat"), "clapat_x", "hello"), { maxLength: 3 }),
};
type Field = keyof typeof FIELDS;

/** Every route of the API (docs included) with its methods and body fields, so most requests reach a handler. */
const ROUTES: { path: string; methods: string[]; fields?: Field[]; weight?: number }[] = [
  // Less often than the others: every login and password change costs an argon2 hash, most of a run's time.
  { path: "/api/v1/auth/login", methods: ["POST"], fields: ["username", "password"], weight: 1 },
  { path: "/api/v1/auth/logout", methods: ["POST"] },
  { path: "/api/v1/me", methods: ["GET"] },
  { path: "/api/v1/settings/git", methods: ["GET", "PUT"], fields: ["patAuthEnabled", "maxLifetimeDays", "pushProtection"] },
  { path: "/api/v1/repositories", methods: ["GET", "POST"], fields: ["project", "name"] },
  { path: "/api/v1/repositories/{project}/{name}", methods: ["PATCH", "DELETE"], fields: ["patAccess", "pushProtection"] },
  { path: "/api/v1/repositories/{project}/{name}/members", methods: ["GET"] },
  { path: "/api/v1/repositories/{project}/{name}/members/{username}", methods: ["PUT", "DELETE"], fields: ["access"] },
  { path: "/api/v1/users", methods: ["GET", "POST"], fields: ["username", "password", "isAdmin"], weight: 2 },
  { path: "/api/v1/users/{username}", methods: ["PATCH"], fields: ["password", "isAdmin", "active"], weight: 2 },
  { path: "/api/v1/tokens", methods: ["GET", "POST"], fields: ["description", "expiresInDays", "expiresAt", "repositories", "permission"] },
  { path: "/api/v1/tokens/{id}", methods: ["GET", "PATCH", "DELETE"], fields: ["description", "repositories", "permission", "active"] },
  { path: "/api/v1/tokens/{id}/rotate", methods: ["POST"], fields: ["graceMinutes"] },
  { path: "/api/v1/audit?limit=5", methods: ["GET"] },
  { path: "/api/v1/credentials/revoke", methods: ["POST"], fields: ["credentials"] },
  { path: "/api/v1/openapi.json", methods: ["GET"] },
  { path: "/docs", methods: ["GET"] },
  { path: "/docs/assets/{file}", methods: ["GET"] },
  { path: "/healthz", methods: ["GET"] },
  { path: "/readyz", methods: ["GET"] },
  { path: "/metrics", methods: ["GET"] },
];
const PARAMS = {
  project: ["acme", "blocked", "ACME", "nothing"],
  name: ["widgets", "Widgets", "nothing", "widgets.git"],
  username: ["alice", "admin", "Alice", "nobody"],
  file: ["swagger-ui.css", "swagger-ui-bundle.js", "package.json", "..%2Fpackage.json", "index.html"],
  id: [placeholder("tokenId"), placeholder("tokenId"), "1", "2", "0", "-1", "1.5", "99999999999999999999", "abc"],
};

const pick = (fields: Field[]) => Object.fromEntries(fields.map((field) => [field, FIELDS[field]]));
// Mostly with the administrator's live key, so requests get past authentication to validation.
const restAuth = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "bearer" as const, value: placeholder("apiKey") }) },
  { weight: 2, arbitrary: authArb },
);

const restRequestArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.oneof(...ROUTES.map((route) => ({ weight: route.weight ?? 3, arbitrary: fc.constant(route) }))).chain((route) =>
      requestArb({
        method: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...route.methods) }, { weight: 1, arbitrary: methodArb }),
        target: routePathArb([route.path], PARAMS),
        body: bodyArb(fieldsBodyArb(pick(route.fields ?? []))),
        auth: restAuth,
      }),
    ),
  },
  { weight: 1, arbitrary: requestArb({ target: pathArb(["/api/v1"], WORDS), body: bodyArb(fieldsBodyArb(FIELDS)), auth: restAuth }) },
);

describe("fuzz: the REST API (/api/v1/…) never answers 5xx, and refused requests change nothing", function () {
  this.timeout(600_000);
  let server: TestServer;
  let keeper: Client;
  /** Alice's own key, never in a generated request: only she can create her tokens. */
  let alice: Client;
  let pool: RawHttpPool;
  const values: FuzzValues = {};

  /** Whatever the accepted requests of a batch did (a logout, a deleted token), the fixture is whole again. */
  async function heal(): Promise<void> {
    const users: { username: string; active: boolean; is_admin: boolean }[] = await server
      .knex("users")
      .whereIn("username", ["admin", "alice"])
      .select("username", "active", "is_admin");
    for (const user of users) {
      if (!user.active || (user.username === "admin" && !user.is_admin)) {
        await keeper.patch(`/users/${user.username}`, { active: true, ...(user.username === "admin" && { isAdmin: true }) });
      }
    }
    if ((await new Client(server.url, values.apiKey).get("/me")).status !== 200) {
      // Logged out, or the password was changed by an accepted PATCH.
      const signIn = () => new Client(server.url).post<{ apiKey: string }>("/auth/login", { username: "admin", password: ADMIN_PASSWORD });
      let reply = await signIn();
      if (reply.status !== 201) {
        await keeper.patch("/users/admin", { password: ADMIN_PASSWORD });
        reply = await signIn();
      }
      values.apiKey = reply.body.apiKey;
    }
    const token: { active: boolean } | undefined = await server
      .knex("personal_access_tokens")
      .where({ id: Number(values.tokenId) })
      .first("active");
    if (!token?.active) {
      await keeper.put("/settings/git", { patAuthEnabled: true });
      const created = await createToken(alice, { permission: "read-write" });
      values.pat = created.token;
      values.tokenId = String(created.id);
    }
    const members = await keeper.get<{ username: string }[]>("/repositories/acme/widgets/members");
    // A repository deleted by an accepted DELETE comes back (its old folder went to the trash).
    if (members.status === 404) await keeper.post("/repositories", { project: "acme", name: "widgets" });
    if (members.status === 404 || !members.body.some((member) => member.username === "alice")) {
      await keeper.put("/repositories/acme/widgets/members/alice", { access: "write" });
    }
  }

  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: "true" }, throttle: FUZZ_THROTTLE });
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    keeper = await createUser(admin, server, "keeper", true);
    alice = await createUser(admin, server, "alice");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    // A plain file where a project folder would go: creating a repository there must be a clear refusal.
    fs.mkdirSync(server.config.reposDir, { recursive: true });
    fs.writeFileSync(path.join(server.config.reposDir, "blocked"), "not a folder");
    const live = await createToken(alice, { permission: "read-write" });
    const dead = await createToken(alice, { permission: "read" });
    await alice.patch(`/tokens/${dead.id}`, { active: false });
    Object.assign(values, { apiKey: admin.apiKey, user: "alice", pat: live.token, tokenId: String(live.id), deadPat: dead.token });
    pool = new RawHttpPool(server.url, 8);
  });
  after(async () => {
    pool?.close();
    await server?.close();
  });

  it("10,000 generated requests: methods, paths, bodies and headers", async () => {
    const stats = await fuzzSurface(
      {
        name: "REST",
        knex: server.knex,
        pool,
        arbitrary: restRequestArb,
        values: () => ({ ...values, patBadChecksum: badChecksum(values.pat ?? "") }),
        accepted: acceptedWrite,
        refusalAudit: ["login.failed"],
        heal,
      },
      { seed: fuzzSeed(1201), inputs: fuzzInputs(10_000) },
    );
    console.log(formatStats("REST", stats));
    assert.equal(stats.problems.length, 0, problemReport(stats.problems));
    assert.ok(stats.inputs >= fuzzInputs(10_000));
    assert.ok(stats.comparedBatches > stats.batches / 2, "most batches were compared with the database");
  });
});
