import assert from "node:assert/strict";
import path from "node:path";
import { ConfigError, parseConfig } from "../../server/src/config";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = parseConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, path.resolve("./data"));
    assert.equal(config.reposDir, path.resolve("./data/repos"));
    assert.equal(config.publicUrl, undefined);
    assert.equal(config.logLevel, "info");
    assert.equal(config.trustProxy, false);
    assert.equal(config.tls, undefined);
    assert.equal(config.httpRedirectPort, undefined);
    assert.equal(config.metrics, undefined);
    assert.equal(config.shutdownTimeoutMs, 30_000);
  });

  it("reads every variable", () => {
    const config = parseConfig({
      PORT: "9000",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://u@db/x",
      DATA_DIR: "/srv/clarive",
      REPOS_DIR: "/srv/git",
      PUBLIC_URL: "https://git.example.com/",
      ADMIN_PASSWORD: "correct horse",
      LOG_LEVEL: "debug",
      TRUST_PROXY: "true",
      TLS_CERT_FILE: "/etc/clarive/chain.pem",
      TLS_KEY_FILE: "/etc/clarive/key.pem",
      HTTP_REDIRECT_PORT: "8081",
      METRICS_PORT: "9100",
      METRICS_HOST: "10.0.0.5",
      SHUTDOWN_TIMEOUT: "12.5",
    });
    assert.deepEqual(
      { ...config },
      {
        port: 9000,
        host: "0.0.0.0",
        databaseUrl: "postgres://u@db/x",
        dataDir: "/srv/clarive",
        reposDir: "/srv/git",
        publicUrl: "https://git.example.com",
        adminPassword: "correct horse",
        logLevel: "debug",
        trustProxy: true,
        tls: { certFile: "/etc/clarive/chain.pem", keyFile: "/etc/clarive/key.pem" },
        httpRedirectPort: 8081,
        metrics: { port: 9100, host: "10.0.0.5" },
        shutdownTimeoutMs: 12_500,
      },
    );
  });

  it("names every bad variable in one error", () => {
    assert.throws(
      () => parseConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud", PUBLIC_URL: "not a url", TRUST_PROXY: "yes" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        ["PORT", "DATABASE_URL", "LOG_LEVEL", "PUBLIC_URL", "TRUST_PROXY"].every((name) => error.message.includes(name)),
    );
  });

  it("puts the metrics listener on HOST unless METRICS_HOST says otherwise", () => {
    assert.deepEqual(parseConfig({ HOST: "0.0.0.0", METRICS_PORT: "9100" }).metrics, { port: 9100, host: "0.0.0.0" });
  });

  it("refuses bad METRICS_PORT, METRICS_HOST and SHUTDOWN_TIMEOUT values, naming each", () => {
    const refuses = (env: Record<string, string>, variable: string, words: RegExp) =>
      assert.throws(
        () => parseConfig(env),
        (error: unknown) => error instanceof ConfigError && error.message.includes(variable) && words.test(error.message),
        JSON.stringify(env),
      );
    refuses({ METRICS_PORT: "metrics" }, "METRICS_PORT", /port number/);
    refuses({ METRICS_PORT: "70000" }, "METRICS_PORT", /65535/);
    refuses({ PORT: "9000", METRICS_PORT: "9000" }, "METRICS_PORT", /must differ from PORT/);
    refuses({ METRICS_HOST: "127.0.0.1" }, "METRICS_HOST", /needs METRICS_PORT/);
    refuses({ SHUTDOWN_TIMEOUT: "soon" }, "SHUTDOWN_TIMEOUT", /number of seconds/);
    refuses({ SHUTDOWN_TIMEOUT: "-1" }, "SHUTDOWN_TIMEOUT", /number of seconds/);
    refuses({ SHUTDOWN_TIMEOUT: "7200" }, "SHUTDOWN_TIMEOUT", /at most 3600/);
  });

  it("takes SHUTDOWN_TIMEOUT=0 as: cut running requests at once", () => {
    assert.equal(parseConfig({ SHUTDOWN_TIMEOUT: "0" }).shutdownTimeoutMs, 0);
  });
});
