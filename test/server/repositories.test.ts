import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { MemberDto, RepositoryDto } from "@clarive/shared";
import { type Client, createRepository, createUser, loginAdmin, setPatAuth, type ErrorReply } from "../support/client";
import { snapshotDatabase } from "../support/snapshot";
import { startTestServer, type TestServer } from "../support/testServer";

describe("repositories", () => {
  let server: TestServer;
  let admin: Client;
  let alice: Client;

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
  });
  after(() => server.close());

  it("an admin creates a bare git repository on disk; the list shows PAT access and the clone URL", async () => {
    const reply = await admin.post<RepositoryDto>("/repositories", { project: "acme", name: "widgets" });
    assert.equal(reply.status, 201);
    assert.deepEqual(
      { ...reply.body, id: 0, createdAt: "" },
      {
        id: 0,
        project: "acme",
        name: "widgets",
        fullName: "acme/widgets",
        patAccess: "inherit",
        effectivePatAccess: false,
        pushProtection: "inherit",
        effectivePushProtection: true,
        cloneUrl: `${server.url}/git/acme/widgets.git`,
        access: "write",
        createdAt: "",
      },
    );
    const dir = path.join(server.config.reposDir, "acme", "widgets.git");
    assert.equal(execFileSync("git", ["--git-dir", dir, "rev-parse", "--is-bare-repository"]).toString().trim(), "true");
  });

  it("refuses bad names with 400 and duplicates with 409, creating nothing", async () => {
    for (const [project, name] of [
      ["acme", "../etc"],
      ["acme", "a..b"],
      ["acme", "x.git"],
      ["..", "x"],
      ["acme", "-lead"],
      ["acme", "with space"],
      ["acme", "x".repeat(101)],
      ["acme", ""],
    ]) {
      const reply = await admin.post<ErrorReply>("/repositories", { project, name });
      assert.equal(reply.status, 400, `${project}/${name}`);
    }
    const dup = await admin.post<ErrorReply>("/repositories", { project: "acme", name: "widgets" });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, "repository_exists");
    assert.deepEqual(fs.readdirSync(server.config.reposDir).sort(), ["acme"]);
    assert.deepEqual(fs.readdirSync(path.join(server.config.reposDir, "acme")), ["widgets.git"]);
  });

  it("never adopts a folder already on disk, and names are unique regardless of case", async () => {
    // Another instance's data (or a restore) left acme/legacy.git: creating acme/legacy must not serve its history.
    const legacy = path.join(server.config.reposDir, "acme", "legacy.git");
    fs.mkdirSync(path.join(legacy, "refs"), { recursive: true });
    fs.writeFileSync(path.join(legacy, "HEAD"), "ref: refs/heads/old\n");
    const before = await snapshotDatabase(server.knex);
    const adopted = await admin.post<ErrorReply>("/repositories", { project: "acme", name: "legacy" });
    assert.equal(adopted.status, 409);
    assert.equal(adopted.body.error.code, "repository_folder_exists");
    assert.equal(fs.readFileSync(path.join(legacy, "HEAD"), "utf8"), "ref: refs/heads/old\n", "the folder is left as it was");
    for (const [project, name, code] of [
      ["acme", "WIDGETS", "repository_exists"],
      ["ACME", "widgets", "repository_exists"],
      ["Acme", "new-one", "project_name_taken"],
    ] as const) {
      const reply = await admin.post<ErrorReply>("/repositories", { project, name });
      assert.equal(reply.status, 409, `${project}/${name}`);
      assert.equal(reply.body.error.code, code);
    }
    assert.equal(await snapshotDatabase(server.knex), before, "nothing was created");
    assert.ok(!fs.existsSync(path.join(server.config.reposDir, "Acme")));
    fs.rmSync(legacy, { recursive: true });
  });

  it("users see only repositories they are members of, with their access", async () => {
    await createRepository(admin, "acme", "gadgets");
    await createRepository(admin, "other", "secret");
    assert.deepEqual((await alice.get<RepositoryDto[]>("/repositories")).body, []);
    const put = await admin.put<MemberDto>("/repositories/acme/widgets/members/alice", { access: "read" });
    assert.deepEqual(put.body, { username: "alice", access: "read" });
    await admin.put("/repositories/acme/gadgets/members/alice", { access: "write" });
    const list = await alice.get<RepositoryDto[]>("/repositories");
    assert.deepEqual(
      list.body.map((r) => [r.fullName, r.access]),
      [
        ["acme/gadgets", "write"],
        ["acme/widgets", "read"],
      ],
    );
    const all = await admin.get<RepositoryDto[]>("/repositories");
    assert.deepEqual(
      all.body.map((r) => r.fullName),
      ["acme/gadgets", "acme/widgets", "other/secret"],
    );
  });

  it("membership changes: upgrade, list, remove; unknown user or membership is 404", async () => {
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    assert.deepEqual((await admin.get<MemberDto[]>("/repositories/acme/widgets/members")).body, [{ username: "alice", access: "write" }]);
    assert.equal((await admin.delete("/repositories/acme/gadgets/members/alice")).status, 204);
    assert.equal((await admin.delete<ErrorReply>("/repositories/acme/gadgets/members/alice")).body.error.code, "membership_not_found");
    assert.equal((await admin.put<ErrorReply>("/repositories/acme/widgets/members/nobody", { access: "read" })).status, 404);
    assert.equal((await admin.put<ErrorReply>("/repositories/acme/nope/members/alice", { access: "read" })).status, 404);
    assert.equal((await admin.put("/repositories/acme/widgets/members/alice", { access: "admin" })).status, 400);
    assert.deepEqual(
      (await alice.get<RepositoryDto[]>("/repositories")).body.map((r) => r.fullName),
      ["acme/widgets"],
    );
  });

  it("patAccess true/false override the global setting; inherit follows it", async () => {
    const patched = await admin.patch<RepositoryDto>("/repositories/acme/widgets", { patAccess: "true" });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.effectivePatAccess, true);
    await admin.patch("/repositories/acme/gadgets", { patAccess: "false" });
    await setPatAuth(admin, true);
    const byName = async () =>
      Object.fromEntries((await admin.get<RepositoryDto[]>("/repositories")).body.map((r) => [r.fullName, r.effectivePatAccess]));
    assert.deepEqual(await byName(), { "acme/gadgets": false, "acme/widgets": true, "other/secret": true });
    await setPatAuth(admin, false);
    assert.deepEqual(await byName(), { "acme/gadgets": false, "acme/widgets": true, "other/secret": false });
    assert.equal((await admin.patch("/repositories/acme/widgets", { patAccess: "yes" })).status, 400);
    assert.equal((await admin.patch("/repositories/acme/widgets", { patAccess: true })).status, 400);
    assert.equal((await admin.patch("/repositories/acme/nope", { patAccess: "true" })).status, 404);
  });

  it("non-admins cannot create, change or delete repositories or memberships", async () => {
    assert.equal((await alice.post("/repositories", { project: "acme", name: "mine" })).status, 403);
    assert.equal((await alice.patch("/repositories/acme/widgets", { patAccess: "false" })).status, 403);
    assert.equal((await alice.delete("/repositories/acme/widgets")).status, 403);
    assert.equal((await alice.put("/repositories/acme/widgets/members/alice", { access: "write" })).status, 403);
    assert.equal((await alice.delete("/repositories/acme/widgets/members/alice")).status, 403);
    assert.equal((await alice.get("/repositories/acme/widgets/members")).status, 403);
  });

  it("deleting moves the repository to the trash instead of erasing it", async () => {
    assert.equal((await admin.delete("/repositories/other/secret")).status, 204);
    assert.equal((await admin.delete("/repositories/other/secret")).status, 404);
    assert.equal(fs.existsSync(path.join(server.config.reposDir, "other", "secret.git")), false);
    const trash = fs.readdirSync(path.join(server.config.reposDir, ".trash"));
    assert.equal(trash.length, 1);
    assert.match(trash[0] ?? "", /^other__secret-\d+\.git$/);
    // The project can hold a new repository of the same name afterwards.
    await createRepository(admin, "other", "secret");
  });
});

describe("repository creation racing", () => {
  let server: TestServer;
  let racer: Client;
  before(async () => {
    server = await startTestServer();
    racer = await loginAdmin(server);
  });
  after(() => server.close());

  it("two creations of one name in different case, fired together: one wins, the other is 409, one folder", async () => {
    for (let round = 0; round < 15; round++) {
      const replies = await Promise.all([
        racer.post<ErrorReply>("/repositories", { project: "race", name: `r${round}` }),
        racer.post<ErrorReply>("/repositories", { project: "race", name: `R${round}` }),
      ]);
      assert.deepEqual(replies.map((r) => r.status).sort(), [201, 409], `round ${round}`);
    }
    assert.equal(fs.readdirSync(path.join(server.config.reposDir, "race")).length, 15);
  });
});
