import assert from "node:assert/strict";
import { Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, remoteUrl } from "../support/git";
import {
  BackendFreezer,
  hookStatus,
  infoRefsStatus,
  isStopped,
  listenBackends,
  pollUntil,
  within,
  type GitService,
} from "../support/revocation";
import { DEFAULT_THROTTLE, startTestServer, TEST_DB, type TestServer } from "../support/testServer";

/**
 * The product's central promise, across instances: once a REST call that takes rights away
 * has answered 2xx on one instance, no other instance whose LISTEN connection is healthy
 * grants the old rights to a request that starts afterwards — even when it had those rights
 * cached a moment before. And an instance whose LISTEN connection went silent stops trusting
 * its cache within a bounded time, replaces the connection, and trusts it again afterwards.
 *
 * Written against REST + HTTP only (no server internals). Rounds per change:
 * REVOCATION_ROUNDS (default 50).
 */
const ROUNDS = Number(process.env.REVOCATION_ROUNDS ?? 50);
/** Of the token-deactivation rounds, this many more use the real git client (`git ls-remote`). */
const GIT_ROUNDS = Number(process.env.REVOCATION_GIT_ROUNDS ?? 5);
/** How long a restored right may take to show on the other instance before the round is void. */
const RESTORE_WITHIN_MS = 5000;
const REPO = "acme/widgets";

// Every request here is a login; refusals must not trip the failed-login throttle.
const LOOSE_THROTTLE = { ...DEFAULT_THROTTLE, maxFailures: 1_000_000 };

const ok = (status: number) => status >= 200 && status < 300;

if (TEST_DB === "postgres") {
  describe("revocation across instances: no stale grant once the REST call answered", function () {
    this.timeout(120_000);
    let first: TestServer; // "A": where the REST changes are made (unless said otherwise)
    let second: TestServer; // "B": where the git requests are checked
    let admin: Client;
    let alice: Client;
    const freezer = new BackendFreezer();

    before(async () => {
      first = await startTestServer({ throttle: LOOSE_THROTTLE });
      second = await startTestServer({
        databaseUrl: first.config.databaseUrl,
        env: { REPOS_DIR: first.config.reposDir },
        throttle: LOOSE_THROTTLE,
      });
      admin = await loginAdmin(first);
      await createRepository(admin, "acme", "widgets");
      await createRepository(admin, "acme", "gadgets");
      await setPatAuth(admin, true);
      alice = await member("alice", "write");
    });
    after(async () => {
      freezer.dispose(); // before closing: a stopped backend would hang the shutdown
      await second?.close();
      await first?.close();
    });

    /** A new user with the given access to acme/widgets, signed in on A. */
    async function member(username: string, access: "read" | "write", isAdmin = false): Promise<Client> {
      const client = await createUser(admin, first, username, isAdmin);
      const put = await admin.put(`/repositories/${REPO}/members/${username}`, { access });
      assert.equal(put.status, 200, `membership of ${username}: ${JSON.stringify(put.body)}`);
      return client;
    }

    async function expect2xx(what: string, reply: Promise<{ status: number; body: unknown }>): Promise<void> {
      const answer = await reply;
      assert.ok(ok(answer.status), `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }

    interface RaceCase {
      /** The owner of the token used over git. */
      user: string;
      /** The token's secret now (a restore may create a new one). */
      token: () => string;
      service: GitService;
      /** The exact status of a refused info/refs request and of the hook's refusal. */
      refusal: 401 | 403;
      /** The REST call that takes the right away, on `changeOn`. Its reply must be 2xx. */
      revoke: () => Promise<{ status: number; body: unknown }>;
      /** Gives the right back (REST). */
      restore: () => Promise<void>;
      /** Where the REST changes are made and where the git requests are checked. */
      changeOn?: TestServer;
      checkOn?: TestServer;
      rounds?: number;
      /** Additional rounds that check with the real `git ls-remote` (upload-pack only). */
      gitRounds?: number;
    }

    interface RaceResult {
      rounds: number;
      staleInfoRefs: number;
      staleHook: number;
      staleGit: number;
      wrong: string[];
      ms: number;
    }

    /**
     * Each round: the right is (re)granted and visible on both instances; the checked
     * instance serves it twice (so its cache holds the old facts); the change is made; the
     * moment its 2xx answer arrives, an info/refs request and an auth-hook question start
     * on the checked instance. A 200 / 204 there is a stale accept.
     */
    async function race(title: string, c: RaceCase): Promise<RaceResult> {
      const changeOn = c.changeOn ?? first;
      const checkOn = c.checkOn ?? second;
      const rounds = c.rounds ?? ROUNDS;
      const gitRounds = c.gitRounds ?? 0;
      const result: RaceResult = { rounds: rounds + gitRounds, staleInfoRefs: 0, staleHook: 0, staleGit: 0, wrong: [], ms: 0 };
      const started = performance.now();
      const granted = async (server: TestServer) => (await infoRefsStatus(server.url, REPO, c.service, c.user, c.token())) === 200;
      try {
        for (let round = 0; round < rounds + gitRounds; round++) {
          if (round > 0) await c.restore();
          // The restore answered 2xx: both should grant at once; poll (bounded) all the same.
          assert.ok(
            await pollUntil(() => granted(checkOn), RESTORE_WITHIN_MS),
            `${title}, round ${round}: never granted again on the checked instance`,
          );
          assert.ok(
            await pollUntil(() => granted(changeOn), RESTORE_WITHIN_MS),
            `${title}, round ${round}: never granted again on the changing instance`,
          );
          // Warm the checked instance's cache (and hook path) with the old facts.
          for (let i = 0; i < 2; i++) {
            assert.equal(await infoRefsStatus(checkOn.url, REPO, c.service, c.user, c.token()), 200, `${title}, round ${round}: warm-up`);
          }
          assert.equal(await hookStatus(checkOn.url, REPO, c.service, c.user, c.token()), 204, `${title}, round ${round}: warm-up (hook)`);

          const token = c.token();
          const answer = await c.revoke();
          // ---- the REST answer is here: every request below starts after it ----
          if (round < rounds) {
            const [refs, hook] = await Promise.all([
              infoRefsStatus(checkOn.url, REPO, c.service, c.user, token),
              hookStatus(checkOn.url, REPO, c.service, c.user, token),
            ]);
            assert.ok(ok(answer.status), `${title}, round ${round}: the change answered ${answer.status} ${JSON.stringify(answer.body)}`);
            if (refs === 200) result.staleInfoRefs++;
            else if (refs !== c.refusal) result.wrong.push(`round ${round}: info/refs ${refs}, expected ${c.refusal}`);
            if (hook === 204) result.staleHook++;
            else if (hook !== c.refusal) result.wrong.push(`round ${round}: hook ${hook}, expected ${c.refusal}`);
          } else {
            const url = remoteUrl(checkOn.url, REPO, c.user, token);
            const run = await git(["ls-remote", url]);
            const hook = await hookStatus(checkOn.url, REPO, c.service, c.user, token);
            assert.ok(ok(answer.status), `${title}, round ${round}: the change answered ${answer.status}`);
            if (run.code === 0) result.staleGit++;
            else if (c.refusal === 401 ? !/Authentication failed/.test(run.stderr) : !/remote: /.test(run.stderr)) {
              result.wrong.push(`round ${round} (git): ${run.stderr.trim()}`);
            }
            if (hook === 204) result.staleHook++;
            else if (hook !== c.refusal) result.wrong.push(`round ${round} (git): hook ${hook}, expected ${c.refusal}`);
          }
        }
      } finally {
        result.ms = Math.round(performance.now() - started);
        await c.restore().catch(() => undefined); // leave the right in place for the next test
      }
      const stale = result.staleInfoRefs + result.staleHook + result.staleGit;
      console.log(
        `      ${title}: ${stale} stale accepts in ${result.rounds} rounds ` +
          `(info/refs ${result.staleInfoRefs}, hook ${result.staleHook}, git ls-remote ${result.staleGit}/${gitRounds}), ${result.ms} ms`,
      );
      assert.deepEqual(result.wrong, [], `${title}: unexpected statuses`);
      assert.equal(stale, 0, `${title}: ${stale} stale accepts in ${result.rounds} rounds`);
      return result;
    }

    it("token deactivated on A: B refuses with 401 (also with real git ls-remote)", async () => {
      const t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      await race("token deactivated, A → B", {
        user: "alice",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 401,
        revoke: () => alice.patch(`/tokens/${t.id}`, { active: false }),
        restore: () => expect2xx("reactivate", alice.patch(`/tokens/${t.id}`, { active: true })),
        gitRounds: GIT_ROUNDS,
      });
    });

    it("token deactivated on B: A refuses with 401", async () => {
      const aliceOnB = new Client(second.url, alice.apiKey);
      const t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      await race("token deactivated, B → A", {
        user: "alice",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 401,
        revoke: () => aliceOnB.patch(`/tokens/${t.id}`, { active: false }),
        restore: () => expect2xx("reactivate", aliceOnB.patch(`/tokens/${t.id}`, { active: true })),
        changeOn: second,
        checkOn: first,
      });
    });

    it("token deleted: 401", async () => {
      let t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      let deleted = false;
      await race("token deleted", {
        user: "alice",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 401,
        revoke: async () => {
          const reply = await alice.delete(`/tokens/${t.id}`);
          deleted = ok(reply.status);
          return reply;
        },
        restore: async () => {
          if (!deleted) return;
          t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
          deleted = false;
        },
      });
    });

    it("owner deactivated: 401", async () => {
      const dave = await member("dave", "write");
      const t = await createToken(dave, { permission: "read-write", repositories: [REPO] });
      await race("owner deactivated", {
        user: "dave",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 401,
        revoke: () => admin.patch("/users/dave", { active: false }),
        restore: () => expect2xx("reactivate dave", admin.patch("/users/dave", { active: true })),
      });
    });

    it("token scope narrowed to another repository: 403", async () => {
      const erin = await member("erin", "write");
      await expect2xx("erin on gadgets", admin.put("/repositories/acme/gadgets/members/erin", { access: "write" }));
      const t = await createToken(erin, { permission: "read-write", repositories: [REPO] });
      await race("scope narrowed", {
        user: "erin",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 403,
        revoke: () => erin.patch(`/tokens/${t.id}`, { repositories: ["acme/gadgets"] }),
        restore: () => expect2xx("widen", erin.patch(`/tokens/${t.id}`, { repositories: [REPO] })),
      });
    });

    it("token permission lowered read-write → read: push refused with 403", async () => {
      const t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      await race("permission lowered", {
        user: "alice",
        token: () => t.token,
        service: "git-receive-pack",
        refusal: 403,
        revoke: () => alice.patch(`/tokens/${t.id}`, { permission: "read" }),
        restore: () => expect2xx("raise", alice.patch(`/tokens/${t.id}`, { permission: "read-write" })),
      });
    });

    it("owner demoted from admin (no membership): 403", async () => {
      const root = await createUser(admin, first, "root2", true);
      const t = await createToken(root, { permission: "read-write" }); // every repository it can reach
      await race("owner demoted", {
        user: "root2",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 403,
        revoke: () => admin.patch("/users/root2", { isAdmin: false }),
        restore: () => expect2xx("promote", admin.patch("/users/root2", { isAdmin: true })),
      });
    });

    it("membership removed: 403", async () => {
      const gina = await member("gina", "write");
      const t = await createToken(gina, { permission: "read-write", repositories: [REPO] });
      await race("membership removed", {
        user: "gina",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 403,
        revoke: () => admin.delete(`/repositories/${REPO}/members/gina`),
        restore: () => expect2xx("re-add gina", admin.put(`/repositories/${REPO}/members/gina`, { access: "write" })),
      });
    });

    it("membership lowered write → read: push refused with 403", async () => {
      const hank = await member("hank", "write");
      const t = await createToken(hank, { permission: "read-write", repositories: [REPO] });
      await race("membership lowered", {
        user: "hank",
        token: () => t.token,
        service: "git-receive-pack",
        refusal: 403,
        revoke: () => admin.put(`/repositories/${REPO}/members/hank`, { access: "read" }),
        restore: () => expect2xx("raise hank", admin.put(`/repositories/${REPO}/members/hank`, { access: "write" })),
      });
    });

    it('repository patAccess "true" → "false": 403', async () => {
      const t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      await expect2xx("patAccess true", admin.patch(`/repositories/${REPO}`, { patAccess: "true" }));
      try {
        await race("patAccess true → false", {
          user: "alice",
          token: () => t.token,
          service: "git-upload-pack",
          refusal: 403,
          revoke: () => admin.patch(`/repositories/${REPO}`, { patAccess: "false" }),
          restore: () => expect2xx("patAccess true", admin.patch(`/repositories/${REPO}`, { patAccess: "true" })),
        });
      } finally {
        await admin.patch(`/repositories/${REPO}`, { patAccess: "inherit" });
      }
    });

    it('global patAuthEnabled true → false (repository "inherit"): 403', async () => {
      const t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      try {
        await race("patAuthEnabled true → false", {
          user: "alice",
          token: () => t.token,
          service: "git-upload-pack",
          refusal: 403,
          revoke: () => admin.put("/settings/git", { patAuthEnabled: false }),
          restore: () => expect2xx("patAuthEnabled true", admin.put("/settings/git", { patAuthEnabled: true })),
        });
      } finally {
        await setPatAuth(admin, true);
      }
    });

    it("a silent LISTEN connection: B stops trusting its cache within 2 s, replaces the connection, trusts it again", async () => {
      const t = await createToken(alice, { permission: "read-write", repositories: [REPO] });
      const onB = () => infoRefsStatus(second.url, REPO, "git-upload-pack", "alice", t.token);
      const onA = () => infoRefsStatus(first.url, REPO, "git-upload-pack", "alice", t.token);
      const hookOnB = () => hookStatus(second.url, REPO, "git-upload-pack", "alice", t.token);
      // Both instances listen, each on one connection.
      assert.ok(await pollUntil(async () => (await listenBackends(first.knex)).length === 2, 10_000), "two LISTEN backends");
      for (let i = 0; i < 3; i++) assert.equal(await onB(), 200, "warm-up on B");
      assert.equal(await hookOnB(), 204, "warm-up on B (hook)");
      assert.equal(await onA(), 200, "warm-up on A");

      const silenced = await listenBackends(first.knex);
      assert.equal(silenced.length, 2);
      try {
        // Open but delivering nothing: every notification sent from now on is held up.
        for (const pid of silenced) freezer.stop(pid);
        // A signal is delivered asynchronously: wait (briefly) until the kernel shows them stopped.
        assert.ok(await pollUntil(() => silenced.every(isStopped), 1000, 5), "the LISTEN backends are stopped");

        const restStarted = performance.now();
        const answer = await within(alice.patch(`/tokens/${t.id}`, { active: false }), 10_000, "deactivation with silent listeners");
        const answeredAt = performance.now();
        const restMs = Math.round(answeredAt - restStarted);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.ok(restMs <= 3000, `the REST call took ${restMs} ms (at most 3 s allowed)`);

        let lastStatus = 0;
        const refused = await pollUntil(
          async () => {
            lastStatus = await onB();
            return lastStatus !== 200;
          },
          2000,
          50,
        );
        const refusedAfterMs = Math.round(performance.now() - answeredAt);
        console.log(
          `      silent listener: REST answered in ${restMs} ms; B refused ${refused ? `after ${refusedAfterMs} ms` : "never (2 s)"}`,
        );
        assert.ok(refused, `B still granted the deactivated token ${refusedAfterMs} ms after the REST answer`);
        assert.equal(lastStatus, 401);
        assert.equal(await hookOnB(), 401, "the hook on B");
        assert.equal(await onA(), 401, "A");

        // The service replaces a silent connection: two live LISTEN backends again, besides the stopped ones.
        const replaced = await pollUntil(
          async () => (await listenBackends(first.knex)).filter((pid) => !silenced.includes(pid) && !isStopped(pid)).length === 2,
          10_000,
          100,
        );
        const replacedAfterMs = Math.round(performance.now() - answeredAt);
        console.log(
          `      silent listener: ${replaced ? `both connections replaced ${replacedAfterMs} ms after the REST answer` : "connections not replaced within 10 s"}`,
        );
        assert.ok(replaced, "the silent LISTEN connections were not replaced within 10 s");
      } finally {
        freezer.resumeAll();
      }

      // The cache is trusted again: reactivation shows at once on both, and so does a revocation.
      await expect2xx("reactivate", alice.patch(`/tokens/${t.id}`, { active: true }));
      assert.ok(await pollUntil(async () => (await onB()) === 200, 10_000), "B grants the reactivated token");
      assert.equal(await onA(), 200, "A grants the reactivated token");
      assert.equal(await hookOnB(), 204, "the hook on B grants the reactivated token");
      assert.ok(
        // Resumed, the old backends find their connection closed and exit: two LISTEN backends in all.
        await pollUntil(async () => (await listenBackends(first.knex)).length === 2, 10_000, 100),
        "two LISTEN backends in all once the stopped ones resumed",
      );
      for (let i = 0; i < 2; i++) assert.equal(await onB(), 200, "warm-up on B");
      const round = await race("after the silent spell: token deactivated", {
        user: "alice",
        token: () => t.token,
        service: "git-upload-pack",
        refusal: 401,
        revoke: () => alice.patch(`/tokens/${t.id}`, { active: false }),
        restore: () => expect2xx("reactivate", alice.patch(`/tokens/${t.id}`, { active: true })),
        rounds: 10,
      });
      assert.equal(round.rounds, 10);
    });
  });
}
