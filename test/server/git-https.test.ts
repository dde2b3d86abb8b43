import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import type { LoginResponse, RepositoryDto } from "@clarive/shared";
import { generatePersonalAccessToken } from "@clarive/shared";
import { Client, type Reply, createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { git, gitOk, refOnDisk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";
import { createTestCertificates, issueServerCertificate, serialOf, type TestCertificates } from "../support/tls";

/** The REST client of test/support/client.ts, over https trusting the test CA (fetch cannot be given a CA). */
class HttpsClient extends Client {
  constructor(
    baseUrl: string,
    private readonly ca: Buffer,
    apiKey?: string,
  ) {
    super(baseUrl, apiKey);
  }

  override request<T = unknown>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.baseUrl}/api/v1${urlPath}`,
        {
          method,
          ca: this.ca,
          headers: {
            ...(this.apiKey && { authorization: `Bearer ${this.apiKey}` }),
            ...(text !== undefined && { "content-type": "application/json" }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const raw = Buffer.concat(chunks).toString("utf8");
            const replyHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) if (typeof value === "string") replyHeaders.set(name, value);
            resolve({ status: res.statusCode ?? 0, headers: replyHeaders, body: (raw ? JSON.parse(raw) : undefined) as T });
          });
        },
      );
      req.on("error", reject);
      req.end(text);
    });
  }
}

/** The serial number of the certificate a fresh TLS connection to `url` is shown. */
function servedSerial(url: string, ca: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca: fs.readFileSync(ca) }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on("error", reject);
  });
}

/** Response headers of one plain GET over https (the test CA trusted). */
function httpsHeaders(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: fs.readFileSync(ca), headers }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, hsts: res.headers["strict-transport-security"] });
      })
      .on("error", reject);
  });
}

/**
 * A TCP relay in front of the service that can hold back the service's bytes: the TLS session
 * runs end to end between git and the service through it, so a clone can be kept "running"
 * for as long as a test needs.
 */
function holdingRelay(target: URL, holdAfterBytes: number) {
  let relayed = 0;
  let released = false;
  const held: Array<() => void> = [];
  let reachedHold: () => void = () => undefined;
  const holding = new Promise<void>((resolve) => (reachedHold = resolve));
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      relayed += chunk.length;
      if (!released && relayed > holdAfterBytes) {
        upstream.pause();
        held.push(() => upstream.resume());
        reachedHold();
      }
      client.write(chunk);
    });
    upstream.on("end", () => client.end());
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", close);
    client.on("error", close);
  });
  return {
    listen: () => new Promise<number>((resolve) => relay.listen(0, "127.0.0.1", () => resolve((relay.address() as net.AddressInfo).port))),
    holding,
    release: () => {
      released = true;
      for (const resume of held.splice(0)) resume();
    },
    close: () => relay.close(),
  };
}

describe("git over HTTPS (native TLS)", () => {
  let certs: TestCertificates;
  let server: TestServer;
  let admin: HttpsClient;
  let alice: HttpsClient;
  let aliceRw: string;
  let aliceRo: string;
  const logLines: string[] = [];
  const bare = (fullName: string) => path.join(server.config.reposDir, `${fullName}.git`);
  const url = (fullName: string, user?: string, token?: string) => remoteUrl(server.url, fullName, user, token);
  const withCa = () => ({ env: server.gitEnv });

  const httpsLogin = async (username: string, password: string): Promise<HttpsClient> => {
    const ca = fs.readFileSync(certs.caCert);
    const reply = await new HttpsClient(server.url, ca).post<LoginResponse>("/auth/login", { username, password });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return new HttpsClient(server.url, ca, reply.body.apiKey);
  };

  before(async () => {
    certs = createTestCertificates();
    server = await startTestServer({ tls: certs, logLines, env: { HTTP_REDIRECT_PORT: "0" } });
    admin = await httpsLogin("admin", ADMIN_PASSWORD);
    assert.equal((await admin.post("/users", { username: "alice", password: "alice-password", isAdmin: false })).status, 201);
    alice = await httpsLogin("alice", "alice-password");
    for (const name of ["widgets", "gadgets", "big"]) await createRepository(admin, "acme", name);
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });
    await admin.put("/repositories/acme/gadgets/members/alice", { access: "write" });
    await admin.put("/repositories/acme/big/members/alice", { access: "read" });
    await setPatAuth(admin, true);
    aliceRw = (await createToken(alice, { description: "rw", permission: "read-write" })).token;
    aliceRo = (await createToken(alice, { description: "ro", permission: "read" })).token;
    const adminToken = (await createToken(admin)).token;
    for (const name of ["widgets", "gadgets"]) {
      const wc = await workingCopyWithCommit(url(`acme/${name}`, "admin", adminToken));
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc, ...withCa() });
    }
    // Incompressible, so that its clone is a few MB on the wire.
    const big = await workingCopyWithCommit(url("acme/big", "admin", adminToken), "README", "big\n");
    fs.writeFileSync(path.join(big, "blob.bin"), randomBytes(4 * 1024 * 1024));
    await gitOk(["add", "."], { cwd: big });
    await gitOk(["commit", "-qm", "four megabytes"], { cwd: big });
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: big, ...withCa() });
  });
  after(async () => {
    await server.close();
    certs.remove();
  });

  it("listens on https:// and hands out https clone URLs", async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const repositories = (await alice.get<RepositoryDto[]>("/repositories")).body;
    assert.equal(repositories.find((r) => r.name === "widgets")?.cloneUrl, `${server.url}/git/acme/widgets.git`);
  });

  it("a read & write token clones and pushes over https; the ref moves", async () => {
    const dir = tempDir();
    await gitOk(["clone", "-q", url("acme/widgets", "alice", aliceRw), dir], withCa());
    assert.ok(fs.existsSync(path.join(dir, "README")));
    fs.writeFileSync(path.join(dir, "change"), "over TLS\n");
    await gitOk(["add", "."], { cwd: dir });
    await gitOk(["commit", "-qm", "alice over https"], { cwd: dir });
    await gitOk(["push", "-q", "origin", "main"], { cwd: dir, ...withCa() });
    assert.equal(await refOnDisk(bare("acme/widgets")), (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim());
  });

  describe("the refusals, one sample each", () => {
    it("401: an unknown token (git says Authentication failed)", async () => {
      const result = await git(["ls-remote", url("acme/widgets", "alice", generatePersonalAccessToken())], withCa());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Authentication failed/, result.stderr);
    });

    it("403: a read-only token pushing, with git's remote: line; no ref moves", async () => {
      const dir = await workingCopyWithCommit(url("acme/widgets", "alice", aliceRo), "pushed", `${Math.random()}\n`);
      const result = await git(["push", "origin", "HEAD:refs/heads/other"], { cwd: dir, ...withCa() });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /remote: This token is read-only: pushing needs a read & write token/, result.stderr);
      assert.equal(await refOnDisk(bare("acme/widgets"), "refs/heads/other"), null);
    });

    it("403: a repository outside the token's scope", async () => {
      const scoped = await createToken(alice, { repositories: ["acme/gadgets"] });
      await gitOk(["ls-remote", url("acme/gadgets", "alice", scoped.token)], withCa());
      const result = await git(["ls-remote", url("acme/widgets", "alice", scoped.token)], withCa());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /remote: This token does not grant access to acme\/widgets/, result.stderr);
    });

    it("404: an unknown repository", async () => {
      const result = await git(["ls-remote", url("acme/nothing", "alice", aliceRw)], withCa());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /not found/, result.stderr);
    });
  });

  describe("git's credential helper", () => {
    const helperArgs = (file: string) => ["-c", "credential.helper=", "-c", `credential.helper=store --file=${file}`];
    const host = () => new URL(server.url).host;

    it("answers git's question and the clone works, with no token in the remote URL", async () => {
      const store = path.join(tempDir("clarive-cred-"), "credentials");
      fs.writeFileSync(store, `https://alice:${aliceRw}@${host()}\n`);
      const dir = tempDir();
      await gitOk([...helperArgs(store), "clone", "-q", url("acme/widgets"), dir], withCa());
      assert.equal((await gitOk(["remote", "get-url", "origin"], { cwd: dir })).trim(), url("acme/widgets"));
      assert.ok(fs.readFileSync(store, "utf8").includes(aliceRw), "a working credential stays stored");
    });

    it("a wrong token stored: git gets 401 and erases it from the helper", async () => {
      const store = path.join(tempDir("clarive-cred-"), "credentials");
      const wrong = generatePersonalAccessToken();
      fs.writeFileSync(store, `https://alice:${wrong}@${host()}\n`);
      const result = await git([...helperArgs(store), "clone", "-q", url("acme/widgets"), tempDir()], withCa());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /Authentication failed/, result.stderr);
      assert.ok(!fs.readFileSync(store, "utf8").includes(wrong), "git erased the rejected credential");
    });
  });

  it("git that does not trust the CA refuses to clone, and nothing secret reaches the service's log", async () => {
    const before = logLines.length;
    const result = await git(["clone", "-q", url("acme/widgets", "alice", aliceRw), tempDir()]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /SSL certificate problem|certificate verif(y|ication) failed/i, result.stderr);
    const logged = logLines.slice(before).join("");
    assert.ok(!logged.includes(aliceRw) && !logged.includes(aliceRw.slice(7)), "no trace of the token");
    assert.ok(!logged.includes('"path":"/git/'), "no request got through");
  });

  it("every response over TLS carries Strict-Transport-Security: REST, git and the auth hook", async () => {
    for (const where of [
      "/api/v1/me",
      "/api/v1/openapi.json",
      "/git/acme/widgets.git/info/refs?service=git-upload-pack",
      "/api/v1/git/auth",
    ]) {
      for (const authorization of [undefined, `Basic ${Buffer.from(`alice:${aliceRw}`).toString("base64")}`]) {
        const { status, hsts } = await httpsHeaders(`${server.url}${where}`, certs.caCert, {
          "x-original-uri": "/git/acme/widgets.git/info/refs?service=git-upload-pack",
          ...(authorization && { authorization }),
        });
        assert.ok(status > 0);
        assert.equal(hsts, "max-age=31536000", `${where} (${status})`);
      }
    }
    // git's own answer (200 from git http-backend) and the auth hook's 204 are among them.
    const git200 = await httpsHeaders(`${server.url}/git/acme/widgets.git/info/refs?service=git-upload-pack`, certs.caCert, {
      authorization: `Basic ${Buffer.from(`alice:${aliceRw}`).toString("base64")}`,
    });
    assert.deepEqual(git200, { status: 200, hsts: "max-age=31536000" });
  });

  it("answers Node gives before any handler (broken or huge headers, an odd Expect) carry HSTS over TLS too", async () => {
    const { hostname, port } = new URL(server.url);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: hostname, port: Number(port), ca: fs.readFileSync(certs.caCert), servername: "localhost" }, () =>
          socket.write(request),
        );
        let data = "";
        socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
        socket.on("end", () => resolve(data));
        socket.on("close", () => resolve(data));
        socket.on("error", reject);
      });
    for (const [request, status] of [
      [`GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
      ["GET /api/v1/me HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400],
      ["GET /api/v1/me HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n", 417],
    ] as const) {
      const answer = await raw(request);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), answer.slice(0, 80));
      assert.match(answer, /\r\nStrict-Transport-Security: max-age=31536000\r\n/i, `${status} carries HSTS`);
    }
  });

  describe("HTTP_REDIRECT_PORT", () => {
    it("logs a token pasted into a plain-HTTP URL only as its hint, and never redirects an absolute-form git request", async () => {
      const pasted = aliceRw;
      const before = logLines.length;
      assert.equal((await fetch(`${server.redirectUrl}/api/v1/tokens/${pasted}`, { redirect: "manual" })).status, 403);
      assert.ok(!logLines.slice(before).join("").includes(pasted.slice(7)), "no token in the log");
      const { hostname, port } = new URL(server.redirectUrl ?? "");
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () =>
          socket.write(
            "GET http://elsewhere.example/git/acme/widgets.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          ),
        );
        let data = "";
        socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
      });
      assert.match(answer, /^HTTP\/1\.1 403 /);
      assert.doesNotMatch(answer, /\r\nLocation:/i);
    });

    it("sends a browser asking for /docs to the https URL", async () => {
      const reply = await fetch(`${server.redirectUrl}/docs`, { redirect: "manual" });
      assert.equal(reply.status, 301);
      assert.equal(reply.headers.get("location"), `${server.url}/docs`);
      assert.equal(reply.headers.get("strict-transport-security"), null, "HSTS is for TLS responses only");
    });

    for (const where of ["/git/acme/widgets.git/info/refs?service=git-upload-pack", "/api/v1/me"]) {
      it(`never redirects ${where.split("?")[0]}: 403 with a sentence naming https, no Location`, async () => {
        const reply = await fetch(`${server.redirectUrl}${where}`, { redirect: "manual" });
        assert.equal(reply.status, 403);
        assert.equal(reply.headers.get("location"), null);
        assert.match(await reply.text(), new RegExp(`over HTTPS only.*use ${server.url.replace(/[.]/g, "\\.")}/`));
      });
    }

    it("git pointed at the plain-HTTP port fails with the sentence as remote: …", async () => {
      const plain = remoteUrl(server.redirectUrl ?? "", "acme/widgets");
      const result = await git(["ls-remote", plain]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, new RegExp(`remote: .*over HTTPS only.*use ${server.url.replace(/[.]/g, "\\.")}/git/acme/widgets\\.git`));
    });
  });

  describe("certificate reload (what SIGHUP does)", () => {
    it("a renewed certificate is served to the next connection while a running clone completes", async function () {
      this.timeout(60_000);
      const oldSerial = serialOf(certs.serverCert);
      assert.equal(await servedSerial(server.url, certs.caCert), oldSerial);
      const relay = holdingRelay(new URL(server.url), 256 * 1024);
      const relayPort = await relay.listen();
      try {
        const dir = tempDir();
        const clone = git(["clone", "-q", remoteUrl(`https://127.0.0.1:${relayPort}`, "acme/big", "alice", aliceRw), dir], withCa());
        // The pack is half-way: the clone is running.
        const early = await Promise.race([relay.holding, clone]);
        assert.equal(early, undefined, `the clone ended before the relay held it back: ${JSON.stringify(early)}`);
        const newSerial = issueServerCertificate(certs);
        assert.notEqual(newSerial, oldSerial);
        assert.equal(server.reloadTls()?.serialNumber, newSerial);
        assert.equal(await servedSerial(server.url, certs.caCert), newSerial);
        relay.release();
        const result = await clone;
        assert.equal(result.code, 0, result.stderr);
        assert.equal(fs.statSync(path.join(dir, "blob.bin")).size, 4 * 1024 * 1024);
      } finally {
        relay.close();
      }
    });

    it("a broken certificate file keeps the previous certificate and logs an error", async () => {
      const serving = await servedSerial(server.url, certs.caCert);
      const good = fs.readFileSync(certs.chain);
      fs.writeFileSync(certs.chain, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
      try {
        assert.equal(server.reloadTls(), undefined);
      } finally {
        fs.writeFileSync(certs.chain, good);
      }
      assert.equal(await servedSerial(server.url, certs.caCert), serving);
      const error = logLines.map((line) => JSON.parse(line) as { level: number; msg?: string }).find((e) => e.level === 50);
      assert.match(
        error?.msg ?? "",
        /TLS certificate not reloaded, the previous one stays in use: TLS_CERT_FILE: .* is not a valid PEM certificate/,
      );
      await gitOk(["ls-remote", url("acme/widgets", "alice", aliceRw)], withCa());
    });
  });
});

describe("Strict-Transport-Security and X-Forwarded-Proto on plain HTTP", () => {
  const cloneUrlOf = async (server: TestServer, headers: Record<string, string>) => {
    const admin = await loginAdmin(server);
    if ((await admin.get<RepositoryDto[]>("/repositories")).body.length === 0) await createRepository(admin, "acme", "widgets");
    const reply = await admin.request<RepositoryDto[]>("GET", "/repositories", undefined, headers);
    return reply.body[0]?.cloneUrl;
  };

  it("no Strict-Transport-Security over plain HTTP", async () => {
    const server = await startTestServer();
    try {
      const reply = await fetch(`${server.url}/api/v1/openapi.json`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get("strict-transport-security"), null);
    } finally {
      await server.close();
    }
  });

  it("with TRUST_PROXY, X-Forwarded-Proto (its last entry) makes clone URLs https", async () => {
    const server = await startTestServer({ env: { TRUST_PROXY: "true" } });
    try {
      const host = new URL(server.url).host;
      assert.equal(await cloneUrlOf(server, { "x-forwarded-proto": "https" }), `https://${host}/git/acme/widgets.git`);
      // The proxy appends; what the client wrote before it is not believed.
      assert.equal(await cloneUrlOf(server, { "x-forwarded-proto": "https, http" }), `http://${host}/git/acme/widgets.git`);
      assert.equal(await cloneUrlOf(server, {}), `${server.url}/git/acme/widgets.git`);
      const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`, { headers: { "x-forwarded-proto": "https" } })).json()) as {
        servers: Array<{ url: string }>;
      };
      assert.equal(doc.servers[0]?.url, `https://${host}`);
    } finally {
      await server.close();
    }
  });

  it("without TRUST_PROXY, X-Forwarded-Proto is ignored", async () => {
    const server = await startTestServer();
    try {
      assert.equal(await cloneUrlOf(server, { "x-forwarded-proto": "https" }), `${server.url}/git/acme/widgets.git`);
    } finally {
      await server.close();
    }
  });

  it("PUBLIC_URL set explicitly wins over X-Forwarded-Proto", async () => {
    const server = await startTestServer({ env: { TRUST_PROXY: "true", PUBLIC_URL: "http://git.example.com" } });
    try {
      assert.equal(await cloneUrlOf(server, { "x-forwarded-proto": "https" }), "http://git.example.com/git/acme/widgets.git");
    } finally {
      await server.close();
    }
  });
});
