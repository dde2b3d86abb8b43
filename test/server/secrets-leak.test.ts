import assert from "node:assert/strict";
import type { CreatedTokenDto, LoginResponse } from "@clarive/shared";
import { Client, createRepository, createUser, login, loginAdmin, setPatAuth } from "../support/client";
import { dumpAllTables } from "../support/fuzzDatabase";
import { RawHttpPool } from "../support/fuzzHttp";
import { gitOk, git, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { askHook, readRefs, receivePack } from "../support/hook";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";

interface Recorded {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

/** The answers allowed to carry a secret: each the only place its secret is ever shown. */
const SECRET_ANSWERS = [/^POST \/api\/v1\/auth\/login$/, /^POST \/api\/v1\/tokens$/, /^POST \/api\/v1\/tokens\/\d+\/rotate$/];
const carriesSecretByDesign = (r: Recorded): boolean =>
  r.status < 300 && SECRET_ANSWERS.some((route) => route.test(`${r.method} ${new URL(r.url).pathname}`));

/**
 * Every stretch of a secret long enough to matter: the whole of it, and each 12 characters of
 * what follows its prefix (a hint shows the prefix and the last 4, nothing more).
 */
function fragments(secret: string): string[] {
  const body = secret.replace(/^(clapat_|clapi_)/, "");
  const parts = [secret];
  if (body.length > 12) for (let i = 0; i + 12 <= body.length; i++) parts.push(body.slice(i, i + 12));
  return parts;
}

describe("secrets never leak: no password, API key or token in logs, the database or any answer but the one that shows it", function () {
  this.timeout(180_000);
  const logLines: string[] = [];
  const recorded: Recorded[] = [];
  const secrets = new Map<string, string>(); // secret → what it is
  let server: TestServer;
  let realFetch: typeof fetch;

  before(async () => {
    server = await startTestServer({ logLines, env: { TRUST_PROXY: "true" } });
    // Every answer the session's clients get, read in full (the clients read their own copy).
    realFetch = globalThis.fetch;
    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const response = await realFetch(input, init);
      const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
      recorded.push({
        method: init?.method ?? "GET",
        url,
        status: response.status,
        headers: response.headers,
        body: await response.clone().text(),
      });
      return response;
    };
    await realisticSession();
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await server?.close();
  });

  /** Logins, tokens made, rotated and revoked, git clone and push with them, and the usual mistakes. */
  async function realisticSession(): Promise<void> {
    secrets.set(ADMIN_PASSWORD, "the admin password");
    secrets.set("alice-password", "alice's password");
    const admin = await loginAdmin(server);
    secrets.set(admin.apiKey ?? "", "the admin's API key");
    await setPatAuth(admin, true);
    const alice = await createUser(admin, server, "alice");
    secrets.set(alice.apiKey ?? "", "alice's API key");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "write" });

    const create = async (body: object) => {
      const reply = await alice.post<CreatedTokenDto>("/tokens", {
        description: "laptop",
        permission: "read-write",
        expiresInDays: 30,
        ...body,
      });
      assert.equal(reply.status, 201);
      secrets.set(reply.body.token, `token ${reply.body.id}`);
      return reply.body;
    };
    const laptop = await create({});
    const ci = await create({ description: "ci", permission: "read", repositories: ["acme/widgets"] });
    const rotated = await alice.post<CreatedTokenDto>(`/tokens/${ci.id}/rotate`, { graceMinutes: 0 });
    assert.equal(rotated.status, 201);
    secrets.set(rotated.body.token, `token ${ci.id} after rotation`);
    await alice.get("/tokens");
    await alice.get(`/tokens/${laptop.id}`);
    await alice.patch(`/tokens/${laptop.id}`, { description: "laptop (home)" });
    await admin.get("/audit?limit=100");

    // git with tokens: clone, push, fetch; then the old (rotated-out) secret and a wrong one.
    const url = remoteUrl(server.url, "acme/widgets", "alice", laptop.token);
    const work = await workingCopyWithCommit(url);
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: work });
    await gitOk(["clone", "-q", remoteUrl(server.url, "acme/widgets", "alice", rotated.body.token), tempDir()]);
    assert.notEqual((await git(["ls-remote", remoteUrl(server.url, "acme/widgets", "alice", ci.token)])).code, 0);
    await askHook(server.url, { uri: readRefs("acme/widgets"), user: "alice", token: laptop.token });
    await askHook(server.url, { uri: receivePack("acme/widgets"), method: "POST", user: "alice", token: rotated.body.token });

    // The usual mistakes: a token typed as the username (REST and git), a password or key
    // where a token goes, a token pasted into a URL path or query.
    for (const [username, password] of [
      [laptop.token, "whatever"],
      [laptop.token, laptop.token],
      [admin.apiKey ?? "", "x"],
      ["alice", laptop.token],
      ["alice", "not-alices-password"],
      [`alice ${laptop.token}`, "x"],
    ] as const) {
      assert.equal((await new Client(server.url).post("/auth/login", { username, password })).status, 401);
    }
    assert.notEqual((await git(["ls-remote", remoteUrl(server.url, "acme/widgets", laptop.token, laptop.token)])).code, 0);
    assert.notEqual((await git(["ls-remote", remoteUrl(server.url, "acme/widgets", "alice", "alice-password")])).code, 0);
    assert.notEqual((await git(["ls-remote", remoteUrl(server.url, "acme/widgets", "alice", alice.apiKey)])).code, 0);
    await askHook(server.url, { uri: readRefs("acme/widgets"), user: laptop.token, token: "x" });
    await askHook(server.url, {
      uri: `/git/acme/${laptop.token}.git/info/refs?service=git-upload-pack`,
      user: "alice",
      token: laptop.token,
    });
    await new Client(server.url, laptop.token).get("/me");
    await new Client(server.url, "clapi_" + laptop.token.slice(7)).get("/me");
    for (const path of [
      `/tokens/${laptop.token}`,
      `/${laptop.token}`,
      `/tokens?token=${laptop.token}`,
      `/repositories/acme/${laptop.token}/members`,
    ]) {
      await alice.get(path);
    }
    await fetch(`${server.url}/git/acme/${laptop.token}.git/info/refs?service=git-upload-pack`);
    await fetch(`${server.url}/git/acme/widgets.git/info/refs?service=git-upload-pack&token=${laptop.token}`);
    // Through raw requests too: a token percent-encoded in a path, and in a header that is not Authorization.
    const pool = new RawHttpPool(server.url, 1);
    try {
      const encoded = [...laptop.token].map((c, i) => (i % 3 === 0 ? `%${c.charCodeAt(0).toString(16)}` : c)).join("");
      for (const target of [`/api/v1/tokens/${encoded}`, `/git/acme/${encoded}.git/info/refs?service=git-upload-pack`]) {
        const answer = await pool.send({ method: "GET", target, headers: [["Authorization", `Bearer ${alice.apiKey}`]] });
        recorded.push({
          method: "GET",
          url: `${server.url}${target}`,
          status: answer.status,
          headers: new Headers(answer.headers),
          body: answer.body.toString(),
        });
      }
    } finally {
      pool.close();
    }

    // A leaked token reported, then used; the user signs out.
    const report = await new Client(server.url).post("/credentials/revoke", { credentials: [`found in a gist: ${laptop.token}`] });
    assert.equal(report.status, 202, JSON.stringify(report.body));
    assert.notEqual((await git(["ls-remote", url])).code, 0);
    await alice.post("/auth/logout");
    await (await login(server, "alice", "alice-password")).post("/auth/logout");
    await admin.get("/audit?limit=100");
    await admin.get("/users");
  }

  /** The secrets (whole or a 12-character stretch) found in `text`, by what they are. */
  function leaked(text: string): string[] {
    // Percent-encoded characters hide nothing: the text is read decoded too.
    const readings = [text, text.replace(/%[0-9A-Fa-f]{2}/g, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)))];
    const found: string[] = [];
    for (const [secret, what] of secrets)
      if (fragments(secret).some((part) => readings.some((reading) => reading.includes(part)))) found.push(what);
    return found;
  }

  it("the session used real secrets: passwords, API keys, tokens (also rotated out and revoked)", () => {
    assert.ok(secrets.size >= 7, [...secrets.values()].join(", "));
    assert.ok(recorded.length > 30, `${recorded.length} answers recorded`);
  });

  it("no secret in the service's log lines", () => {
    assert.ok(logLines.length > 40);
    const leaks = logLines.flatMap((line) => leaked(line).map((what) => `${what}: ${line.slice(0, 300)}`));
    assert.deepEqual(leaks, []);
  });

  it("no secret in any table of the database (every row, every column)", async () => {
    const dump = await dumpAllTables(server.knex);
    const leaks: string[] = [];
    for (const [table, rows] of Object.entries(dump)) {
      for (const row of rows) {
        const text = JSON.stringify(row);
        for (const what of leaked(text)) leaks.push(`${what} in ${table}: ${text.slice(0, 300)}`);
      }
    }
    assert.deepEqual(leaks, []);
  });

  it("no secret in any answer (body or headers) but the login, create and rotate answers that show it", () => {
    const leaks: string[] = [];
    for (const r of recorded) {
      if (carriesSecretByDesign(r)) continue;
      const text = `${[...r.headers].map(([name, value]) => `${name}: ${value}`).join("\n")}\n${r.body}`;
      for (const what of leaked(text)) leaks.push(`${what} in ${r.method} ${new URL(r.url).pathname} ${r.status}: ${r.body.slice(0, 200)}`);
    }
    assert.deepEqual(leaks, []);
  });

  it("every answer that carries a secret says Cache-Control: no-store", () => {
    const withSecrets = recorded.filter((r) => leaked(r.body).length > 0);
    assert.ok(withSecrets.length >= 5, "login, token create and rotate answers were seen");
    for (const r of withSecrets) {
      assert.equal(r.headers.get("cache-control"), "no-store", `${r.method} ${new URL(r.url).pathname}`);
      const body = JSON.parse(r.body) as Partial<LoginResponse & CreatedTokenDto>;
      assert.ok(body.apiKey ?? body.token, "only the secret it was asked for");
    }
  });
});
