import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { alterLastCharacter, createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { askHook, readRefs } from "../support/hook";
import { gitOk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { freePort } from "../support/postgres";
import { DEFAULT_THROTTLE, startTestServer, type TestServer } from "../support/testServer";

/** The value of one sample line (`name{labels} value`), or 0 when the series does not exist yet. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("Prometheus metrics (/metrics)", () => {
  describe("on the service's port", () => {
    let server: TestServer;
    let token: string;
    const scrape = async () => {
      const reply = await fetch(`${server.url}/metrics`);
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      return reply.text();
    };

    before(async () => {
      // The real throttle: three failed logins from one address block it.
      server = await startTestServer({ throttle: { ...DEFAULT_THROTTLE, maxFailures: 3 } });
      const admin = await loginAdmin(server);
      await createRepository(admin, "acme", "app");
      await setPatAuth(admin, true);
      token = (await createToken(admin, { permission: "read-write" })).token;
    });
    after(() => server.close());

    it("counts git requests and bytes by service, and allowed decisions", async () => {
      const before = await scrape();
      const wc = await workingCopyWithCommit(
        remoteUrl(server.url, "acme/app", "admin", token),
        "big",
        randomBytes(200_000).toString("hex"),
      );
      await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
      await gitOk(["clone", "-q", remoteUrl(server.url, "acme/app", "admin", token), tempDir()]);
      const after = await scrape();
      const grew = (series: string) => sample(after, series) - sample(before, series);
      assert.ok(grew('clarive_git_requests_total{service="receive-pack",status="2xx"}') >= 2, "push: info/refs and git-receive-pack");
      assert.ok(grew('clarive_git_requests_total{service="upload-pack",status="2xx"}') >= 2, "clone: info/refs and git-upload-pack");
      assert.ok(grew('clarive_git_bytes_total{service="receive-pack",direction="received"}') > 1000, "the pushed pack");
      assert.ok(grew('clarive_git_bytes_total{service="upload-pack",direction="sent"}') > 1000, "the cloned pack");
      assert.ok(grew('clarive_git_auth_decisions_total{outcome="allowed",reason="ok"}') >= 4);
      assert.ok(grew('clarive_http_request_duration_seconds_count{kind="git",status="2xx"}') >= 4);
    });

    it("counts the auth hook's decisions by reason, and its cache hits", async () => {
      const before = await scrape();
      for (let i = 0; i < 3; i++)
        assert.equal((await askHook(server.url, { uri: readRefs("acme/app"), user: "admin", token })).status, 204);
      assert.equal((await askHook(server.url, { uri: readRefs("acme/app") })).status, 401);
      const after = await scrape();
      const grew = (series: string) => sample(after, series) - sample(before, series);
      assert.equal(grew('clarive_git_auth_decisions_total{outcome="allowed",reason="ok"}'), 3);
      assert.equal(grew('clarive_git_auth_decisions_total{outcome="refused",reason="no_credentials"}'), 1);
      assert.equal(grew('clarive_http_request_duration_seconds_count{kind="auth_hook",status="2xx"}'), 3);
      assert.ok(grew('clarive_git_auth_cache_lookups_total{result="hit"}') > 0, "the second request is answered from memory");
      assert.equal(sample(after, "clarive_change_feed_trusted"), 1);
    });

    it("counts failed and throttled logins", async () => {
      const before = await scrape();
      const bad = alterLastCharacter(token);
      for (let i = 0; i < 3; i++) {
        assert.equal((await askHook(server.url, { uri: readRefs("acme/app"), user: "admin", token: bad })).status, 401);
      }
      assert.equal((await askHook(server.url, { uri: readRefs("acme/app"), user: "admin", token: bad })).status, 403, "throttled");
      const after = await scrape();
      const grew = (series: string) => sample(after, series) - sample(before, series);
      assert.equal(grew("clarive_git_failed_logins_total"), 3);
      assert.equal(grew("clarive_git_logins_throttled_total"), 1);
      assert.equal(grew('clarive_git_auth_decisions_total{outcome="throttled",reason="throttled"}'), 1);
      const badToken = ["malformed_token", "unknown_token"].map((reason) =>
        grew(`clarive_git_auth_decisions_total{outcome="refused",reason="${reason}"}`),
      );
      assert.equal(badToken[0]! + badToken[1]!, 3, "the three bad tokens, by their reason");
    });

    it("includes the process's own figures and takes GET and HEAD only", async () => {
      const text = await scrape();
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.match(text, /^nodejs_eventloop_lag_seconds /m);
      assert.equal((await fetch(`${server.url}/metrics`, { method: "POST" })).status, 405);
    });
  });

  it("with METRICS_PORT, is served there only", async () => {
    const metricsPort = await freePort();
    const server = await startTestServer({ env: { METRICS_PORT: String(metricsPort) } });
    try {
      assert.equal(server.metricsUrl, `http://127.0.0.1:${metricsPort}`);
      const reply = await fetch(`${server.metricsUrl}/metrics`);
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /^# TYPE clarive_git_auth_decisions_total counter$/m);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404, "not on the service's port");
      assert.equal((await fetch(`${server.metricsUrl}/api/v1/openapi.json`)).status, 404, "nothing else on the metrics port");
    } finally {
      await server.close();
    }
  });
});
