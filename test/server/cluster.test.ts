import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Client, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, remoteUrl, tempDir } from "../support/git";
import { startNginx, type NginxFront } from "../support/nginx";
import { freePort } from "../support/postgres";
import { startTestServer, TEST_DB, type TestServer } from "../support/testServer";

const EXAMPLE = path.resolve("examples/cluster/clarive-cluster.conf");

/** The shipped example with its ports replaced by this run's; each must occur exactly once. */
function renderCluster(nginxPort: number, instancePorts: number[]): string {
  let text = fs.readFileSync(EXAMPLE, "utf8").replace(/^\s*#.*$/gm, "");
  const replacements: [string, string][] = [
    ["listen 8080;", `listen 127.0.0.1:${nginxPort};`],
    ...instancePorts.map((port, i): [string, string] => [`server 127.0.0.1:${8081 + i} `, `server 127.0.0.1:${port} `]),
  ];
  for (const [from, to] of replacements) {
    assert.equal(text.split(from).length - 1, 1, `${EXAMPLE} has "${from}" once`);
    text = text.replace(from, to);
  }
  return text;
}

/** git requests an instance has answered so far, from its own /metrics. */
async function gitRequestsServed(instance: TestServer): Promise<number> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  return [...text.matchAll(/^clarive_git_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

// Instances share a database only through a real Postgres (PGlite is one process).
if (TEST_DB === "postgres") {
  describe("the cluster example (examples/cluster): nginx in front of three instances", () => {
    let instances: TestServer[] = [];
    let nginx: NginxFront;
    let alice: Client;
    let aliceOnFirst: Client;

    before(async function () {
      this.timeout(120_000);
      const nginxPort = await freePort();
      const shared = { TRUST_PROXY: "true", PUBLIC_URL: `http://127.0.0.1:${nginxPort}` };
      const first = await startTestServer({ env: shared });
      instances = [first];
      for (let i = 0; i < 2; i++) {
        instances.push(
          await startTestServer({ databaseUrl: first.config.databaseUrl, env: { ...shared, REPOS_DIR: first.config.reposDir } }),
        );
      }
      const ports = instances.map((instance) => Number(new URL(instance.url).port));
      nginx = await startNginx(nginxPort, () => renderCluster(nginxPort, ports));
      // Through nginx, as a user would.
      const front = { ...first, url: nginx.url };
      const admin = await loginAdmin(front);
      alice = await createUser(admin, front, "alice");
      await createRepository(admin, "acme", "app");
      await admin.put("/repositories/acme/app/members/alice", { access: "write" });
      await setPatAuth(admin, true);
      // alice's API key, used on the first instance directly instead of through nginx.
      aliceOnFirst = new Client(first.url, alice.apiKey);
    });
    after(async () => {
      await nginx?.stop();
      for (const instance of instances.reverse()) await instance.close();
    });

    it("clones and pushes through nginx, every instance serving part of it", async () => {
      const { token } = await createToken(alice, { permission: "read-write" });
      const url = remoteUrl(nginx.url, "acme/app", "alice", token);
      const before = await Promise.all(instances.map(gitRequestsServed));
      const wc = tempDir();
      await gitOk(["clone", "-q", url, wc]);
      for (let i = 0; i < 3; i++) {
        fs.writeFileSync(path.join(wc, `file${i}`), `commit ${i}\n`);
        await gitOk(["add", "."], { cwd: wc });
        await gitOk(["commit", "-qm", `commit ${i}`], { cwd: wc });
        await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
      }
      const copy = tempDir();
      await gitOk(["clone", "-q", url, copy]);
      assert.equal(await gitOk(["rev-parse", "HEAD"], { cwd: copy }), await gitOk(["rev-parse", "HEAD"], { cwd: wc }));
      const after = await Promise.all(instances.map(gitRequestsServed));
      after.forEach((count, i) => assert.ok(count > (before[i] ?? 0), `instance ${i + 1} served git requests`));
    });

    it("a token revoked through one instance is refused through nginx at once, whichever instance answers", async () => {
      const { token, id } = await createToken(alice, { permission: "read" });
      const url = remoteUrl(nginx.url, "acme/app", "alice", token);
      // Cached on every instance: each answers some of these.
      for (let i = 0; i < 6; i++) await gitOk(["ls-remote", url]);
      assert.equal((await aliceOnFirst.patch(`/tokens/${id}`, { active: false })).status, 200);
      for (let i = 0; i < 6; i++) {
        const refused = await git(["ls-remote", url]);
        assert.notEqual(refused.code, 0, `request ${i + 1} after the revocation`);
        assert.match(refused.stderr, /Authentication failed|This token is deactivated/);
      }
    });
  });
}
