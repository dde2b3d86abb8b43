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
});
