import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { gitOk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { boundedGit, quantile, sleep, type Operation } from "../support/load";
import { startTestServer, TEST_DB, type TestServer } from "../support/testServer";

/** How long the load runs; CI keeps it short, SOAK_SECONDS=300 for a longer look. */
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 40);
const CLIENTS = 20;
const USERS = 5;
/** No git operation may take longer, however loaded the machine. */
const BOUND_MS = 60_000;
const REPO = "acme/soak";

interface SoakClient {
  index: number;
  username: string;
  rest: Client;
  token: { id: number; token: string };
  /** The working copy its pushes come from. */
  dir: string;
  pushed: string[];
}

/** A git operation with the token it used. */
interface GitOperation extends Operation {
  tokenId: number;
}

/**
 * A token's revocation: refused for certain from the moment it was answered until its
 * reactivation was sent (for good after a deletion); in doubt from the moment it was sent
 * until the reactivation was answered.
 */
interface RevokedSpell {
  tokenId: number;
  sentAt: number;
  answeredAt: number;
  until: number;
  reactivatedAt: number;
}

const fiveHundred = /returned error: 5\d\d|HTTP 5\d\d/;

// Two instances on one database: real Postgres.
if (TEST_DB === "postgres") {
  describe("soak: two instances, 20 git clients and a revoking loop", function () {
    this.timeout(SOAK_SECONDS * 1000 + 240_000);
    const servers: TestServer[] = [];
    const clients: SoakClient[] = [];

    before(async () => {
      servers.push(await startTestServer());
      servers.push(await startTestServer({ databaseUrl: servers[0]!.config.databaseUrl, env: { REPOS_DIR: servers[0]!.config.reposDir } }));
      const admin = await loginAdmin(servers[0]!);
      await createRepository(admin, "acme", "soak");
      await setPatAuth(admin, true);
      const users: Client[] = [];
      for (let u = 0; u < USERS; u++) {
        users.push(await createUser(admin, servers[0]!, `soak${u}`));
        await admin.put(`/repositories/acme/soak/members/soak${u}`, { access: "write" });
      }
      const seed = await workingCopyWithCommit(remoteUrl(servers[0]!.url, REPO, "admin", (await createToken(admin)).token));
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: seed });
      for (let index = 0; index < CLIENTS; index++) {
        const rest = users[index % USERS]!;
        const token = await createToken(rest, { description: `soak client ${index}` });
        const dir = path.join(tempDir(), "wc");
        await gitOk(["clone", "-q", remoteUrl(servers[index % 2]!.url, REPO, `soak${index % USERS}`, token.token), dir]);
        await gitOk(["checkout", "-q", "-b", `client-${index}`], { cwd: dir });
        clients.push({ index, username: `soak${index % USERS}`, rest, token, dir, pushed: [] });
      }
    });
    after(async () => {
      for (const server of servers) await server.close();
    });

    it("refuses every operation started after its token's revocation was answered, with no 5xx, no hang and no push lost", async () => {
      const ops: GitOperation[] = [];
      const spells: RevokedSpell[] = [];
      const restStatuses: number[] = [];
      const deadline = performance.now() + SOAK_SECONDS * 1000;
      const running = () => performance.now() < deadline;
      let random = 12345; // seeded: the same schedule every run
      const next = (n: number) => (random = (random * 1103515245 + 12345) % 2 ** 31) % n;

      const runClient = async (client: SoakClient) => {
        for (let round = 0; running(); round++) {
          const server = servers[(client.index + round) % 2]!;
          const { id: tokenId, token } = client.token;
          const url = remoteUrl(server.url, REPO, client.username, token);
          const branch = `client-${client.index}`;
          const step = round % 5;
          let kind: string;
          let args: string[];
          let cwd: string | undefined = client.dir;
          if (step === 4) {
            kind = "clone";
            args = ["clone", "-q", "--no-checkout", url, path.join(tempDir(), "clone")];
            cwd = undefined;
          } else if (step % 2 === 0) {
            kind = "fetch";
            args = ["fetch", "-q", url, "+refs/heads/*:refs/remotes/origin/*"];
          } else {
            kind = "push";
            fs.writeFileSync(path.join(client.dir, `client-${client.index}.txt`), `round ${round}\n`);
            await gitOk(["add", "."], { cwd: client.dir });
            await gitOk(["commit", "-qm", `client ${client.index} round ${round}`], { cwd: client.dir });
            args = ["push", "-q", url, `HEAD:refs/heads/${branch}`];
          }
          const startedAt = performance.now();
          const result = await boundedGit(args, BOUND_MS, cwd);
          const endedAt = performance.now();
          if (kind === "clone") fs.rmSync(path.dirname(args[4]!), { recursive: true, force: true });
          if (kind === "push" && result.code === 0) client.pushed.push((await gitOk(["rev-parse", "HEAD"], { cwd: client.dir })).trim());
          ops.push({
            kind,
            actor: `client ${client.index}`,
            tokenId,
            startedAt,
            endedAt,
            ok: result.code === 0,
            status: result.code,
            hung: result.hung,
            detail: result.stderr.slice(-300),
          });
        }
      };

      // Right after a revocation is answered, the token tries both instances at once (besides
      // whatever its client happens to be running).
      const probe = (client: SoakClient, token: { id: number; token: string }) =>
        Promise.all(
          servers.map(async (server, i) => {
            const startedAt = performance.now();
            const result = await boundedGit(["ls-remote", remoteUrl(server.url, REPO, client.username, token.token)], BOUND_MS);
            const endedAt = performance.now();
            const { code, hung, stderr } = result;
            const actor = `the revoking loop on instance ${i + 1}`;
            ops.push({
              kind: "probe",
              actor,
              tokenId: token.id,
              startedAt,
              endedAt,
              ok: code === 0,
              status: code,
              hung,
              detail: stderr.slice(-300),
            });
          }),
        );

      // Deactivates, reactivates and deletes tokens through either instance while git runs on both.
      const revoke = async () => {
        for (let round = 0; running(); round++) {
          const client = clients[next(CLIENTS)]!;
          const rest = new Client(servers[round % 2]!.url, client.rest.apiKey);
          const { id } = client.token;
          const revoked = client.token;
          const sentAt = performance.now();
          if (round % 4 === 3) {
            const reply = await rest.delete(`/tokens/${id}`);
            restStatuses.push(reply.status);
            const answeredAt = performance.now();
            const forever = Number.POSITIVE_INFINITY;
            if (reply.status === 204) spells.push({ tokenId: id, sentAt, answeredAt, until: forever, reactivatedAt: forever });
            client.token = await createToken(rest, { description: `soak client ${client.index}, round ${round}` });
            await probe(client, revoked);
          } else {
            const off = await rest.patch(`/tokens/${id}`, { active: false });
            restStatuses.push(off.status);
            const answeredAt = performance.now();
            await Promise.all([probe(client, revoked), sleep(1000 + next(1000))]);
            const until = performance.now();
            const on = await rest.patch(`/tokens/${id}`, { active: true });
            restStatuses.push(on.status);
            if (off.status === 200) spells.push({ tokenId: id, sentAt, answeredAt, until, reactivatedAt: performance.now() });
          }
          await sleep(next(300));
        }
      };

      const startedAt = performance.now();
      await Promise.all([...clients.map(runClient), revoke()]);
      const seconds = (performance.now() - startedAt) / 1000;

      // Every commit git reported pushed is on its branch, on the disk both instances serve.
      const bare = path.join(servers[0]!.config.reposDir, "acme", "soak.git");
      let commits = 0;
      for (const client of clients) {
        if (client.pushed.length === 0) continue;
        const onBranch = new Set((await gitOk(["--git-dir", bare, "rev-list", `refs/heads/client-${client.index}`])).split("\n"));
        for (const commit of client.pushed) assert.ok(onBranch.has(commit), `client ${client.index}'s pushed ${commit} is on its branch`);
        commits += client.pushed.length;
      }

      const work = ops.filter((op) => op.kind !== "probe");
      const durations = work.map((op) => op.endedAt - op.startedAt);
      const byKind = ["clone", "fetch", "push"].map((kind) => {
        const mine = ops.filter((op) => op.kind === kind);
        const okCount = mine.filter((op) => op.ok).length;
        return `${kind} ${okCount}/${mine.length} ok, p50 ${quantile(
          mine.map((op) => op.endedAt - op.startedAt),
          0.5,
        ).toFixed(0)} ms`;
      });
      // The operations that must have been refused: started once a revocation was answered,
      // ended before the token was turned back on (or any time after a deletion).
      const mustFail = ops.filter((op) =>
        spells.some((s) => s.tokenId === op.tokenId && op.startedAt > s.answeredAt && op.endedAt < s.until),
      );
      process.stdout.write(
        `      ${work.length} git operations by ${CLIENTS} clients in ${seconds.toFixed(1)} s: ${(work.length / seconds).toFixed(1)} ops/s, ` +
          `p50 ${quantile(durations, 0.5).toFixed(0)} ms, p99 ${quantile(durations, 0.99).toFixed(0)} ms (${byKind.join("; ")}); ` +
          `${spells.length} revocations, ${mustFail.length} operations inside them; ${commits} pushed commits checked\n`,
      );

      assert.deepEqual(
        ops.filter((op) => op.hung).map((op) => `${op.kind} by ${op.actor}`),
        [],
        "no operation ran into the bound",
      );
      assert.deepEqual(
        ops.filter((op) => fiveHundred.test(op.detail)).map((op) => `${op.kind}: ${op.detail}`),
        [],
        "no git request was answered with a 5xx",
      );
      assert.deepEqual(
        restStatuses.filter((status) => status >= 500),
        [],
        "no REST request was answered with a 5xx",
      );
      assert.ok(mustFail.length > 0, "some operations ran while their token was revoked");
      assert.deepEqual(
        mustFail.filter((op) => op.ok).map((op) => `${op.kind} by ${op.actor} with token ${op.tokenId}`),
        [],
        "nothing started after its token's revocation was answered succeeded",
      );
      // And refused nothing else: every operation clear of its token's revocations succeeded.
      const clear = ops.filter(
        (op) => !spells.some((s) => s.tokenId === op.tokenId && op.endedAt > s.sentAt && op.startedAt < s.reactivatedAt),
      );
      assert.deepEqual(
        clear.filter((op) => !op.ok).map((op) => `${op.kind} by ${op.actor}: ${op.detail}`),
        [],
        "operations clear of revocations succeed",
      );
    });
  });
}
