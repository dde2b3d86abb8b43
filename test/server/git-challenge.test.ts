import assert from "node:assert/strict";
import http from "node:http";
import { createRepository, loginAdmin, setPatAuth } from "../support/client";
import { startTestServer, type TestServer } from "../support/testServer";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * git's anonymous first request, answered before Koa (server/src/git/challenge.ts): the same
 * 401 challenge and log line as the git route, on every method and endpoint git uses, and
 * nothing the route refuses first is turned into a 401.
 */
describe("git's anonymous challenge", () => {
  const lines: string[] = [];
  let server: TestServer;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const request = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) =>
    new Promise<Answer & { socketPort: number | undefined }>((resolve, reject) => {
      const req = http.request(`${server.url}${path}`, { method, headers, agent }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, socketPort: req.socket?.localPort }));
      });
      req.on("error", reject);
      req.end(body);
    });

  const logged = (path: string) =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.path === path && l.method !== undefined);

  before(async function () {
    this.timeout(180_000); // a busy machine starts a server slowly
    server = await startTestServer({ logLines: lines, env: { TRUST_PROXY: "true" } });
    const admin = await loginAdmin(server);
    await setPatAuth(admin, true);
    await createRepository(admin, "acme", "widgets");
  });
  after(async () => {
    agent.destroy();
    await server.close();
  });

  for (const [method, path, headers] of [
    ["GET", "/git/acme/widgets.git/info/refs?service=git-upload-pack", {}],
    ["GET", "/git/acme/widgets/info/refs?service=git-receive-pack", {}],
    ["POST", "/git/acme/widgets.git/git-upload-pack", { "content-type": "application/x-git-upload-pack-request" }],
    ["POST", "/git/acme/widgets.git/git-receive-pack", { "content-type": "application/x-git-receive-pack-request" }],
    ["GET", "/git/acme/nothing.git/info/refs?service=git-upload-pack", {}],
  ] as const) {
    it(`${method} ${path.split("/").slice(3).join("/")}: 401 with the Basic challenge, git's text and one log line`, async () => {
      lines.length = 0;
      const answer = await request(method, path, { ...headers, "x-forwarded-for": "203.0.113.9" }, method === "POST" ? "0000" : undefined);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers["www-authenticate"], 'Basic realm="Clarive"');
      assert.equal(answer.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(answer.body, "Authentication required\n");
      const entries = logged(path.split("?")[0] as string);
      assert.equal(entries.length, 1, JSON.stringify(lines));
      const { status, user, error, ip } = entries[0] as Record<string, unknown>;
      assert.deepEqual({ status, user, error, ip }, { status: 401, user: null, error: "git_401", ip: "203.0.113.9" });
    });
  }

  it("a large unread body does not spoil the connection: the next request on it is answered", async () => {
    const first = await request(
      "POST",
      "/git/acme/widgets.git/git-receive-pack",
      { "content-type": "application/x-git-receive-pack-request" },
      Buffer.alloc(2 * 1024 * 1024, 1),
    );
    assert.equal(first.status, 401);
    const second = await request("GET", "/git/acme/widgets.git/info/refs?service=git-upload-pack");
    assert.equal(second.status, 401);
    assert.equal(second.body, "Authentication required\n");
  });

  for (const [what, method, path, headers, status] of [
    ["a POST with the wrong Content-Type", "POST", "/git/acme/widgets.git/git-upload-pack", { "content-type": "text/plain" }, 415],
    [
      "an unknown Content-Encoding",
      "POST",
      "/git/acme/widgets.git/git-upload-pack",
      { "content-type": "application/x-git-upload-pack-request", "content-encoding": "br" },
      415,
    ],
    ["dumb HTTP (info/refs without a service)", "GET", "/git/acme/widgets.git/info/refs", {}, 403],
    ["an unknown service", "GET", "/git/acme/widgets.git/info/refs?service=git-upload-archive", {}, 403],
    ["the service given twice", "GET", "/git/acme/widgets.git/info/refs?service=git-upload-pack&service=git-upload-pack", {}, 400],
    ["GET of an RPC endpoint", "GET", "/git/acme/widgets.git/git-upload-pack", {}, 405],
    ["HEAD of the advertisement", "HEAD", "/git/acme/widgets.git/info/refs?service=git-upload-pack", {}, 405],
    ["a path that is not a repository's", "GET", "/git/acme/info/refs?service=git-upload-pack", {}, 404],
  ] as const) {
    it(`keeps the route's own answer for ${what} (${status}), not the challenge`, async () => {
      const answer = await request(method, path, headers, method === "POST" ? "0000" : undefined);
      assert.equal(answer.status, status, answer.body);
      assert.equal(answer.headers["www-authenticate"], undefined);
    });
  }
});
