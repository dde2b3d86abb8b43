import assert from "node:assert/strict";
import fs from "node:fs";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import path from "node:path";
import { alterLastCharacter, createRepository, createToken, createUser, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { renderExample, startNginx, type NginxFront } from "../support/nginx";
import { freePort } from "../support/postgres";
import { startTestServer, type TestServer } from "../support/testServer";
import { createTestCertificates, type TestCertificates } from "../support/tls";

interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  protocol: string | null;
  body: string;
}

/** One GET over https trusting only `ca` (Node's fetch cannot be given a CA per request). */
function httpsGet(url: string, ca: string, headers: Record<string, string> = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: fs.readFileSync(ca), agent: false, headers }, (response) => {
      const protocol = (response.socket as TLSSocket).getProtocol();
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, protocol, body }));
    });
    request.on("error", reject);
  });
}

describe("nginx TLS example (examples/nginx/clarive-git.conf) in front of git http-backend and of the service", () => {
  let certs: TestCertificates;
  let server: TestServer;
  let nginx: NginxFront;
  let serviceUrl: string;
  let plainUrl: string;
  let rw: string;
  let ro: string;
  let aliceKey: string;
  const bare = () => path.join(server.config.reposDir, "acme", "widgets.git");
  // git trusts the test CA only where a test says so: the isolated HOME has no CA setting.
  const trusting = () => ({ env: { GIT_SSL_CAINFO: certs.caCert } });

  before(async () => {
    certs = createTestCertificates();
    // As the example's header says: the service on loopback, plain HTTP, believing nginx's headers.
    server = await startTestServer({ env: { TRUST_PROXY: "true" } });
    const admin = await loginAdmin(server);
    const alice = await createUser(admin, server, "alice");
    aliceKey = alice.apiKey as string;
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await setPatAuth(admin, true);
    rw = (await createToken(alice, { permission: "read-write" })).token;
    ro = (await createToken(alice, { permission: "read" })).token;
    const seed = await workingCopyWithCommit(remoteUrl(server.url, "acme/widgets", "alice", rw));
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: seed });
    const [gitPort, servicePort, httpPort] = [await freePort(), await freePort(), await freePort()];
    const clarivePort = Number(new URL(server.url).port);
    nginx = await startNginx(
      gitPort,
      (socket) =>
        renderExample({
          gitPort,
          servicePort,
          httpPort,
          clarivePort,
          reposDir: server.config.reposDir,
          socket,
          certificate: certs.serverCert,
          key: certs.serverKey,
        }),
      { scheme: "https" },
    );
    serviceUrl = `https://127.0.0.1:${servicePort}`;
    plainUrl = `http://127.0.0.1:${httpPort}`;
  });
  after(async () => {
    await nginx?.stop();
    await server?.close();
    certs?.remove();
  });

  describe("git http-backend behind the auth hook, over https", () => {
    it("a read-only token clones through nginx, git trusting the test CA", async () => {
      const dir = tempDir();
      await gitOk(["clone", "-q", remoteUrl(nginx.url, "acme/widgets", "alice", ro), dir], trusting());
      assert.ok(fs.existsSync(path.join(dir, "README")));
    });

    it("its push is refused through nginx with the hook's reason, and no ref moves", async () => {
      const before = await refOnDisk(bare());
      const dir = await workingCopyWithCommit(remoteUrl(nginx.url, "acme/widgets", "alice", ro), "x", "y\n");
      const push = await git(["push", "origin", "HEAD:refs/heads/main", "--force"], { cwd: dir, ...trusting() });
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /403/);
      assert.match(push.stderr, /remote: This token is read-only/);
      assert.equal(await refOnDisk(bare()), before);
    });

    it("a read & write token pushes through nginx, as the token's owner", async () => {
      const dir = tempDir();
      await gitOk(["clone", "-q", remoteUrl(nginx.url, "acme/widgets", "alice", rw), dir], trusting());
      fs.writeFileSync(path.join(dir, "via-nginx"), "1\n");
      await gitOk(["add", "."], { cwd: dir });
      await gitOk(["commit", "-qm", "via nginx"], { cwd: dir });
      await gitOk(["push", "-q", "origin", "main"], { cwd: dir, ...trusting() });
      assert.equal(await refOnDisk(bare()), (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim());
    });

    it("bad credentials get 401 with the Basic challenge through nginx, over TLS 1.2+ with HSTS", async () => {
      const anonymous = await httpsGet(`${nginx.url}/git/acme/widgets.git/info/refs?service=git-upload-pack`, certs.caCert);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers["www-authenticate"], 'Basic realm="Clarive"');
      assert.match(String(anonymous.headers["strict-transport-security"]), /max-age=\d+/);
      assert.ok(anonymous.protocol === "TLSv1.3" || anonymous.protocol === "TLSv1.2", `negotiated ${anonymous.protocol}`);
      const wrong = await git(["ls-remote", remoteUrl(nginx.url, "acme/widgets", "alice", alterLastCharacter(rw))], trusting());
      assert.match(wrong.stderr, /Authentication failed/);
    });

    it("git refuses to clone when it does not trust the CA (the handshake fails before any request)", async () => {
      const dir = path.join(tempDir(), "clone");
      const clone = await git(["clone", "-q", remoteUrl(nginx.url, "acme/widgets", "alice", rw), dir]);
      assert.notEqual(clone.code, 0);
      // OpenSSL builds of libcurl say "SSL certificate problem", GnuTLS ones (Debian's git) this.
      assert.match(clone.stderr, /SSL certificate problem|server certificate verification failed/);
      assert.ok(!fs.existsSync(path.join(dir, "README")));
    });
  });

  describe("the service itself behind nginx, over https", () => {
    it("clones and pushes through the proxy block, and the REST API answers there", async () => {
      const dir = tempDir();
      await gitOk(["clone", "-q", remoteUrl(serviceUrl, "acme/widgets", "alice", rw), dir], trusting());
      fs.writeFileSync(path.join(dir, "via-proxy"), "1\n");
      await gitOk(["add", "."], { cwd: dir });
      await gitOk(["commit", "-qm", "via the proxied service"], { cwd: dir });
      await gitOk(["push", "-q", "origin", "main"], { cwd: dir, ...trusting() });
      assert.equal(await refOnDisk(bare()), (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim());
      const openapi = await httpsGet(`${serviceUrl}/api/v1/openapi.json`, certs.caCert);
      assert.equal(openapi.status, 200);
      assert.match(String(openapi.headers["strict-transport-security"]), /max-age=\d+/);
    });

    it("the clone URLs the API gives through the proxy say https (X-Forwarded-Proto, TRUST_PROXY=true)", async () => {
      const reply = await httpsGet(`${serviceUrl}/api/v1/repositories`, certs.caCert, { authorization: `Bearer ${aliceKey}` });
      assert.equal(reply.status, 200);
      const repositories = JSON.parse(reply.body) as { cloneUrl: string }[];
      assert.deepEqual(
        repositories.map((r) => r.cloneUrl),
        [`${serviceUrl}/git/acme/widgets.git`],
      );
    });

    it("the service's own refusals reach git through the proxy (read-only push: 403 and its reason)", async () => {
      const dir = await workingCopyWithCommit(remoteUrl(serviceUrl, "acme/widgets", "alice", ro), "z", "w\n");
      const push = await git(["push", "origin", "HEAD:refs/heads/main", "--force"], { cwd: dir, ...trusting() });
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: This token is read-only/);
    });
  });

  describe("plain HTTP", () => {
    it("git gets a 403 with a sentence, never a redirect that would resend the token", async () => {
      const clone = await git(["clone", "-q", remoteUrl(plainUrl, "acme/widgets", "alice", ro), path.join(tempDir(), "c")]);
      assert.notEqual(clone.code, 0);
      assert.match(clone.stderr, /403/);
      assert.match(clone.stderr, /remote: Use https:\/\/ for git/);
      const api = await fetch(`${plainUrl}/api/v1/openapi.json`, { redirect: "manual" });
      assert.equal(api.status, 403);
    });

    it("a browser is redirected to https", async () => {
      const docs = await fetch(`${plainUrl}/docs`, { redirect: "manual" });
      assert.equal(docs.status, 301);
      assert.match(docs.headers.get("location") ?? "", /^https:\/\/127\.0\.0\.1\/docs$/);
    });
  });
});
