import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { ConfigError, parseConfig } from "../../server/src/config";
import { freePort } from "../support/postgres";
import { ADMIN_PASSWORD, migratedPgliteTemplate, startTestServer } from "../support/testServer";
import { createTestCertificates, issueServerCertificate, serialOf, type TestCertificates } from "../support/tls";

const servedSerial = (port: number, ca: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: fs.readFileSync(ca) }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on("error", reject);
  });

const until = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe("TLS configuration", () => {
  let certs: TestCertificates;
  let scratch: string;
  before(() => {
    certs = createTestCertificates();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-tls-bad-"));
  });
  after(() => {
    certs.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  const file = (name: string, content: string) => {
    const where = path.join(scratch, name);
    fs.writeFileSync(where, content);
    return where;
  };

  describe("both or neither", () => {
    it("TLS_CERT_FILE alone is refused, naming TLS_KEY_FILE", () => {
      assert.throws(
        () => parseConfig({ TLS_CERT_FILE: certs.chain }),
        (error: unknown) => error instanceof ConfigError && /TLS_KEY_FILE: must be set too/.test(error.message),
      );
    });

    it("TLS_KEY_FILE alone is refused, naming TLS_CERT_FILE", () => {
      assert.throws(
        () => parseConfig({ TLS_KEY_FILE: certs.serverKey }),
        (error: unknown) => error instanceof ConfigError && /TLS_CERT_FILE: must be set too/.test(error.message),
      );
    });

    it("HTTP_REDIRECT_PORT without TLS is refused", () => {
      assert.throws(
        () => parseConfig({ HTTP_REDIRECT_PORT: "8081" }),
        (error: unknown) => error instanceof ConfigError && /HTTP_REDIRECT_PORT: needs TLS_CERT_FILE and TLS_KEY_FILE/.test(error.message),
      );
    });
  });

  describe("a bad file stops the start with one line naming the variable and the problem", () => {
    const refusedStart = async (env: Record<string, string>, expected: RegExp) => {
      await assert.rejects(
        startTestServer({ env }),
        (error: unknown) => error instanceof ConfigError && !error.message.includes("\n") && expected.test(error.message),
      );
    };

    it("a certificate file that does not exist", () =>
      refusedStart(
        { TLS_CERT_FILE: path.join(scratch, "missing.pem"), TLS_KEY_FILE: certs.serverKey },
        /^Invalid configuration: TLS_CERT_FILE: cannot read .*missing\.pem: no such file$/,
      ));

    it("a folder instead of a key file", () =>
      refusedStart({ TLS_CERT_FILE: certs.chain, TLS_KEY_FILE: scratch }, /TLS_KEY_FILE: cannot read .*: it is a folder, not a file/));

    it("garbage instead of a certificate", () =>
      refusedStart(
        { TLS_CERT_FILE: file("garbage.pem", "hello\n"), TLS_KEY_FILE: certs.serverKey },
        /TLS_CERT_FILE: .*garbage\.pem holds no PEM certificate/,
      ));

    it("a certificate block that does not decode", () =>
      refusedStart(
        {
          TLS_CERT_FILE: file("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
          TLS_KEY_FILE: certs.serverKey,
        },
        /TLS_CERT_FILE: .*broken\.pem is not a valid PEM certificate/,
      ));

    it("garbage instead of a key", () =>
      refusedStart(
        { TLS_CERT_FILE: certs.chain, TLS_KEY_FILE: file("garbage.key", "hello\n") },
        /TLS_KEY_FILE: .*garbage\.key is not a PEM private key/,
      ));

    it("the key of another certificate (here the CA's)", () =>
      refusedStart(
        { TLS_CERT_FILE: certs.chain, TLS_KEY_FILE: certs.caKey },
        /TLS_KEY_FILE: .*ca\.key is not the key of the first certificate in/,
      ));

    it("a key encrypted with a passphrase", () => {
      const encrypted = path.join(scratch, "encrypted.key");
      execFileSync("openssl", ["pkey", "-in", certs.serverKey, "-aes256", "-passout", "pass:secret", "-out", encrypted], { stdio: "pipe" });
      return refusedStart(
        { TLS_CERT_FILE: certs.chain, TLS_KEY_FILE: encrypted },
        /TLS_KEY_FILE: .*encrypted\.key is encrypted with a passphrase/,
      );
    });
  });

  describe("the clear-text warning", () => {
    const warnings = async (env: Record<string, string>, withTls = false) => {
      const logLines: string[] = [];
      const server = await startTestServer({ env, logLines, ...(withTls && { tls: certs }) });
      await server.close();
      return logLines.map((line) => JSON.parse(line) as { level: number; msg?: string }).filter((e) => e.msg?.includes("clear text"));
    };

    it("is logged once, as a warning, when the service listens beyond loopback over plain HTTP", async () => {
      const found = await warnings({ HOST: "0.0.0.0" });
      assert.equal(found.length, 1);
      assert.equal(found[0]?.level, 40);
      assert.match(found[0]?.msg ?? "", /set TLS_CERT_FILE and TLS_KEY_FILE, or put a TLS proxy in front and set TRUST_PROXY=true/);
    });

    it("is not logged on loopback, behind a trusted proxy, or with TLS", async () => {
      assert.equal((await warnings({})).length, 0);
      assert.equal((await warnings({ HOST: "0.0.0.0", TRUST_PROXY: "true" })).length, 0);
      assert.equal((await warnings({ HOST: "0.0.0.0" }, true)).length, 0);
    });
  });

  it("PUBLIC_URL defaults to https:// with TLS", async () => {
    const server = await startTestServer({ tls: certs });
    try {
      assert.equal(server.config.publicUrl, server.url);
      assert.match(server.config.publicUrl, /^https:\/\//);
    } finally {
      await server.close();
    }
  });

  describe("the service process (npm start)", () => {
    const start = (env: Record<string, string>) => {
      const { DATABASE_URL: _postgres, ...inherited } = process.env;
      return spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
        env: { ...inherited, HOST: "127.0.0.1", ADMIN_PASSWORD, LOG_LEVEL: "info", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
    };
    const collect = (child: ChildProcess) => {
      const out = { stdout: "", stderr: "" };
      child.stdout?.on("data", (chunk: Buffer) => (out.stdout += chunk.toString("utf8")));
      child.stderr?.on("data", (chunk: Buffer) => (out.stderr += chunk.toString("utf8")));
      return out;
    };

    it("exits with one line on stderr when the certificate cannot be read", async function () {
      this.timeout(30_000);
      const child = start({ PORT: "0", DATA_DIR: scratch, TLS_CERT_FILE: path.join(scratch, "nope.pem"), TLS_KEY_FILE: certs.serverKey });
      const out = collect(child);
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      assert.equal(code, 2);
      assert.match(out.stderr, /^Invalid configuration: TLS_CERT_FILE: cannot read .*nope\.pem: no such file\n$/);
    });

    it("reloads the certificate on SIGHUP, and keeps the old one (alive) when the new files are broken", async function () {
      this.timeout(60_000);
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-process-tls-"));
      fs.cpSync(await migratedPgliteTemplate(), path.join(dataDir, "pg"), { recursive: true });
      const own = createTestCertificates();
      const port = await freePort();
      const child = start({ PORT: String(port), DATA_DIR: dataDir, TLS_CERT_FILE: own.chain, TLS_KEY_FILE: own.serverKey });
      const out = collect(child);
      try {
        await until(() => out.stdout.includes(`listening on https://127.0.0.1:${port}`), "the service to listen");
        const first = serialOf(own.serverCert);
        assert.equal(await servedSerial(port, own.caCert), first);

        const renewed = issueServerCertificate(own);
        child.kill("SIGHUP");
        await until(async () => (await servedSerial(port, own.caCert)) === renewed, "the renewed certificate");

        const good = fs.readFileSync(own.serverKey);
        fs.writeFileSync(own.serverKey, "not a key\n");
        child.kill("SIGHUP");
        await until(() => out.stdout.includes("TLS certificate not reloaded"), "the reload error");
        fs.writeFileSync(own.serverKey, good);
        assert.equal(child.exitCode, null, "still running");
        assert.equal(await servedSerial(port, own.caCert), renewed);
      } finally {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
        own.remove();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
