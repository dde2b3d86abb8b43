import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { type Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, remoteUrl, workingCopyWithCommit } from "../support/git";
import { startTestServer, TEST_DB, type TestServer } from "../support/testServer";

// Two instances need a database both can reach: real Postgres. (PGlite is one process; the
// same-instance revocation tests in git-http.test.ts cover it.)
if (TEST_DB === "postgres") {
  describe("two service instances on one Postgres", () => {
    let first: TestServer;
    let second: TestServer;
    let alice: Client;

    before(async () => {
      first = await startTestServer();
      // As in a real deployment, the instances share the database and the repositories' disk.
      second = await startTestServer({
        databaseUrl: first.config.databaseUrl,
        env: { REPOS_DIR: first.config.reposDir },
      });
      const admin = await loginAdmin(first);
      alice = await createUser(admin, first, "alice");
      await createRepository(admin, "acme", "widgets");
      await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
      await setPatAuth(admin, true);
    });
    after(async () => {
      await second.close();
      await first.close();
    });

    it("a token deactivated on one instance fails on the other at the very next request", async () => {
      const t = await createToken(alice);
      const onSecond = remoteUrl(second.url, "acme/widgets", "alice", t.token);
      await gitOk(["ls-remote", onSecond]); // now cached on the second instance
      await gitOk(["ls-remote", onSecond]);
      assert.equal((await alice.patch(`/tokens/${t.id}`, { active: false })).status, 200);
      const refused = await git(["ls-remote", onSecond]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Authentication failed/);
      await alice.patch(`/tokens/${t.id}`, { active: true });
      await gitOk(["ls-remote", onSecond]);
    });

    it("a token deleted on one instance fails on the other at the very next request", async () => {
      const t = await createToken(alice);
      const onSecond = remoteUrl(second.url, "acme/widgets", "alice", t.token);
      await gitOk(["ls-remote", onSecond]);
      assert.equal((await alice.delete(`/tokens/${t.id}`)).status, 204);
      assert.notEqual((await git(["ls-remote", onSecond])).code, 0);
    });

    it("a global setting changed on one instance applies on the other", async () => {
      const t = await createToken(alice);
      const onSecond = remoteUrl(second.url, "acme/widgets", "alice", t.token);
      await gitOk(["ls-remote", onSecond]);
      const admin = await loginAdmin(first);
      await setPatAuth(admin, false);
      try {
        assert.match((await git(["ls-remote", onSecond])).stderr, /not allowed/);
      } finally {
        await setPatAuth(admin, true);
      }
    });

    it("push protection switched on, per repository or globally, on one instance scans the other's very next push", async () => {
      const admin = await loginAdmin(first);
      const pusher = await createToken(alice);
      const dir = await workingCopyWithCommit(remoteUrl(second.url, "acme/widgets", "alice", pusher.token));
      // Off first, so that what the second instance holds from its last push is "off".
      assert.equal((await admin.patch("/repositories/acme/widgets", { pushProtection: "false" })).status, 200);
      await gitOk(["push", "-q", "origin", "HEAD:refs/heads/protection-seed"], { cwd: dir });
      // Several rounds, each switch answered on the first instance and the push on the second
      // right after: the second instance has the switch cached from its previous push.
      for (let round = 0; round < 6; round++) {
        const global = round % 2 === 1;
        const turnOff = global
          ? () => admin.put("/settings/git", { pushProtection: false })
          : () => admin.patch("/repositories/acme/widgets", { pushProtection: "false" });
        const turnOn = global
          ? () => admin.put("/settings/git", { pushProtection: true })
          : () => admin.patch("/repositories/acme/widgets", { pushProtection: "inherit" });
        assert.equal((await turnOff()).status, 200);
        const example = await createToken(alice, { description: `example ${round}` });
        fs.writeFileSync(path.join(dir, `example-${round}.txt`), `token = ${example.token}\n`);
        await gitOk(["add", "."], { cwd: dir });
        await gitOk(["commit", "-qm", `example ${round}`], { cwd: dir });
        await gitOk(["push", "-q", "origin", `HEAD:refs/heads/off-${round}`], { cwd: dir }); // off: goes through
        const leaked = await createToken(alice, { description: `leak ${round}` });
        fs.writeFileSync(path.join(dir, `leak-${round}.txt`), `token = ${leaked.token}\n`);
        await gitOk(["add", "."], { cwd: dir });
        await gitOk(["commit", "-qm", `leak ${round}`], { cwd: dir });
        assert.equal((await turnOn()).status, 200);
        const refused = await git(["push", "-q", "origin", `HEAD:refs/heads/on-${round}`], { cwd: dir });
        assert.notEqual(refused.code, 0, `round ${round}: the second instance still took protection for off`);
        assert.match(refused.stderr, /Push refused/);
        await gitOk(["reset", "-q", "--hard", "HEAD~1"], { cwd: dir });
      }
    });

    it("while an instance's LISTEN connection is down it reads the database, so revocation still holds", async () => {
      const t = await createToken(alice);
      const onSecond = remoteUrl(second.url, "acme/widgets", "alice", t.token);
      await gitOk(["ls-remote", onSecond]); // cached
      // Cut every listening connection (both instances): notifications sent now are lost.
      await first.knex.raw(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await alice.patch(`/tokens/${t.id}`, { active: false })).status, 200);
      const refused = await git(["ls-remote", onSecond]);
      assert.notEqual(refused.code, 0, "a stale cache would still let the token in");
      // The listener reconnects by itself and the cache is trusted again.
      await alice.patch(`/tokens/${t.id}`, { active: true });
      await gitOk(["ls-remote", onSecond]);
      let listening = 0;
      for (let i = 0; i < 50 && listening < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const rows = await first.knex.raw<{ rows: { n: number }[] }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        );
        listening = rows.rows[0]?.n ?? 0;
      }
      assert.equal(listening, 2, "both instances listen again");
    });
  });
}
