/**
 * The extension over HTTPS: where clarive.caCertificate points, loading the CA, a sentence for each
 * certificate refusal (never a raw OpenSSL code), the git config key that makes git trust the CA,
 * written exactly once in the repository's own config, and the commands against an HTTPS stand-in
 * server with a private test CA (openssl, per run).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClariveClient } from "../../../extension/src/api/client";
import { CaCertificateError, ServerCertificateError, ServerUnreachableError } from "../../../extension/src/api/errors";
import { loadCaCertificates, Transport } from "../../../extension/src/api/transport";
import { configureGitRemote, removeGitCredentials } from "../../../extension/src/commands/configureRemote";
import { signIn } from "../../../extension/src/commands/signIn";
import {
  describeCertificateProblem,
  errorCode,
  pemCertificateBlocks,
  resolveCaPath,
  sslCaInfoKey,
} from "../../../extension/src/core/certificates";
import { localGitConfig } from "../../../extension/src/git/gitConfig";
import { createTestCertificates, type TestCertificates } from "../../support/tls";
import { FakeRepository, testDeps } from "../support/commandDeps";
import { FAKE_API_TOKEN, startFakeHttpApi, startFakeHttpsApi, type FakeApi } from "../support/fakeHttpsApi";

const RAW_CODES =
  /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|ERR_SSL_WRONG_VERSION_NUMBER/;

const scratch: string[] = [];
function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
after(() => scratch.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, env: { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: "1" }, encoding: "utf8" });

describe("HTTPS: the pure parts", () => {
  it("resolves clarive.caCertificate: empty is unset, ~ expands, a relative path is refused naming the setting", () => {
    assert.deepEqual(resolveCaPath("", "/home/ann"), { ok: true, path: undefined });
    assert.deepEqual(resolveCaPath("   ", "/home/ann"), { ok: true, path: undefined });
    assert.deepEqual(resolveCaPath("~/certs/ca.pem", "/home/ann"), { ok: true, path: "/home/ann/certs/ca.pem" });
    assert.deepEqual(resolveCaPath(" /etc/ssl/private-ca.pem ", "/home/ann"), { ok: true, path: "/etc/ssl/private-ca.pem" });
    const relative = resolveCaPath("certs/ca.pem", "/home/ann");
    assert.equal(relative.ok, false);
    assert.match(relative.ok ? "" : relative.message, /^clarive\.caCertificate must be an absolute path .*"certs\/ca\.pem"/);
    assert.equal(resolveCaPath("~ann/ca.pem", "/home/ann").ok, false, "~user is not expanded");
  });

  it("finds the PEM certificate blocks of a file, none in a key", () => {
    const one = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    assert.deepEqual(pemCertificateBlocks(`subject=CN=x\n${one}\n${one}\n`), [one, one]);
    assert.deepEqual(pemCertificateBlocks("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"), []);
  });

  it("reads the code on the error or on the causes fetch wraps it in", () => {
    const tlsError = Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    assert.equal(errorCode(new TypeError("fetch failed", { cause: tlsError })), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    assert.equal(errorCode(tlsError), "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    assert.equal(errorCode(new Error("a", { cause: new Error("b", { cause: { code: "CERT_HAS_EXPIRED" } }) })), "CERT_HAS_EXPIRED");
    assert.equal(errorCode(new TypeError("fetch failed")), undefined);
    assert.equal(errorCode("text"), undefined);
  });

  it("words every common certificate refusal as a sentence, without the raw code", () => {
    const serverUrl = "https://git.example.com";
    const cases: Array<[string, RegExp]> = [
      [
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        /^the server's certificate is not trusted \(issued by a private CA\?\)\. Set clarive\.caCertificate/,
      ],
      ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", /not trusted \(issued by a private CA\?\).*system's trusted certificates/],
      ["SELF_SIGNED_CERT_IN_CHAIN", /not trusted \(issued by a private CA\?\)/],
      ["DEPTH_ZERO_SELF_SIGNED_CERT", /^the server's certificate is self-signed.*clarive\.caCertificate/],
      ["CERT_HAS_EXPIRED", /has expired: the server's administrator must renew it/],
      ["CERT_NOT_YET_VALID", /not valid yet: check this computer's clock/],
      ["ERR_TLS_CERT_ALTNAME_INVALID", /^the server's certificate is not issued for git\.example\.com/],
      ["CERT_REVOKED", /has been revoked/],
      ["ERR_SSL_WRONG_VERSION_NUMBER", /does not speak HTTPS at this address \(a plain http:\/\/ server\?\)/],
    ];
    for (const [code, expected] of cases) {
      const sentence = describeCertificateProblem(code, { serverUrl });
      assert.ok(sentence, code);
      assert.match(sentence, expected, code);
      assert.doesNotMatch(sentence, RAW_CODES, `${code} is worded, not shown`);
    }
    assert.match(
      describeCertificateProblem("EPROTO", { serverUrl }, "SSL routines:ssl3_get_record:wrong version number") ?? "",
      /does not speak HTTPS/,
    );
    assert.match(describeCertificateProblem("CERT_CHAIN_TOO_LONG", { serverUrl }) ?? "", /certificate was refused \(CERT_CHAIN_TOO_LONG\)/);
    assert.match(describeCertificateProblem("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", { serverUrl }) ?? "", /TLS\) to the server failed/);
  });

  it("names the CA file when one was trusted and still does not vouch for the server", () => {
    const sentence = describeCertificateProblem("UNABLE_TO_VERIFY_LEAF_SIGNATURE", { serverUrl: "https://h", caFile: "/etc/ca.pem" });
    assert.match(sentence ?? "", /not signed by the CA in clarive\.caCertificate \(\/etc\/ca\.pem\)/);
    assert.match(
      describeCertificateProblem("ERR_TLS_CERT_ALTNAME_INVALID", { serverUrl: "https://[::1]:8443" }) ?? "",
      /not issued for ::1:/,
      "IPv6 without brackets",
    );
  });

  it("leaves network failures that are not TLS to 'cannot reach'", () => {
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET", "UND_ERR_SOCKET"])
      assert.equal(describeCertificateProblem(code, { serverUrl: "https://h" }), undefined, code);
  });

  it("computes http.<server>/.sslCAInfo, which git applies to every remote under the server and nowhere else", () => {
    assert.equal(sslCaInfoKey("https://git.example.com"), "http.https://git.example.com/.sslCAInfo");
    assert.equal(sslCaInfoKey("https://git.example.com:8443/clarive/"), "http.https://git.example.com:8443/clarive/.sslCAInfo");
    const repo = scratchDir("clarive-sslcainfo-");
    git(repo, "init", "-q");
    git(repo, "config", "--local", sslCaInfoKey("https://127.0.0.1:8443/clarive"), "/certs/ca.pem");
    const match = (url: string) => {
      try {
        return git(repo, "config", "--get-urlmatch", "http.sslCAInfo", url).trim();
      } catch {
        return "";
      }
    };
    assert.equal(match("https://127.0.0.1:8443/clarive/git/acme/widgets.git"), "/certs/ca.pem");
    assert.equal(match("https://127.0.0.1:8444/clarive/git/acme/widgets.git"), "", "another port");
    assert.equal(match("https://127.0.0.1:8443/other/git/acme/widgets.git"), "", "another path");
  });
});

describe("HTTPS: the repository's own git config, one value per key", () => {
  it("replaces what vscode.git's setConfig (git config --add) would append, and unsets it again", async () => {
    const repo = scratchDir("clarive-gitconfig-");
    git(repo, "init", "-q");
    const key = sslCaInfoKey("https://git.example.com");
    // What Repository.setConfig does twice: two values.
    git(repo, "config", "--local", "--add", key, "/old/ca.pem");
    git(repo, "config", "--local", "--add", key, "/old/ca.pem");
    const config = localGitConfig(repo);
    assert.deepEqual(await config.getAll(key), ["/old/ca.pem", "/old/ca.pem"]);
    await config.set(key, "/new/ca.pem");
    await config.set(key, "/new/ca.pem");
    assert.deepEqual(await config.getAll(key), ["/new/ca.pem"]);
    assert.deepEqual(git(repo, "config", "--local", "--get-all", key).trim().split("\n"), ["/new/ca.pem"]);
    assert.equal(await config.unset(key), true);
    assert.deepEqual(await config.getAll(key), []);
    assert.equal(await config.unset(key), false, "nothing left to unset");
    await config.set(key, "/new/ca.pem");
    const local = fs.readFileSync(path.join(repo, ".git/config"), "utf8");
    assert.equal(local.match(/sslCAInfo = \/new\/ca\.pem/g)?.length, 1, `written once, in the repository's own file:\n${local}`);
  });

  it("reports a folder that is no repository instead of writing elsewhere", async () => {
    const notRepo = scratchDir("clarive-norepo-");
    await assert.rejects(localGitConfig(notRepo).set("http.sslCAInfo", "/x"), /git config --replace-all http\.sslCAInfo failed/);
  });
});

describe("HTTPS: the client with a private CA", function () {
  this.timeout(60_000);
  let certs: TestCertificates;
  let other: TestCertificates;
  let api: FakeApi;

  before(async () => {
    certs = createTestCertificates();
    other = createTestCertificates();
    api = await startFakeHttpsApi(certs.serverCert, certs.serverKey);
  });
  after(async () => {
    await api?.close();
    certs?.remove();
    other?.remove();
  });

  const clientWith = (caCertificate: string, serverUrl = api.url) => {
    const transport = new Transport({ caCertificate: () => caCertificate, home: certs.dir });
    return new ClariveClient(serverUrl, "clapi_key", { fetch: transport.fetch, caFile: () => transport.caFile(), timeoutMs: 10_000 });
  };

  it("without the CA, fetch's refusal reads as a sentence naming the setting", async () => {
    const error: unknown = await clientWith("")
      .me()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ServerCertificateError, String(error));
    assert.ok(error instanceof ServerUnreachableError, "still a kind of unreachable for the session");
    assert.equal(error.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    assert.match(error.message, new RegExp(`^Cannot connect securely to the Clarive server at ${api.url.replace(/[.]/g, "\\.")}: `));
    assert.match(
      error.message,
      /certificate is not trusted \(issued by a private CA\?\)\. Set clarive\.caCertificate to your CA's PEM file/,
    );
    assert.doesNotMatch(error.message, RAW_CODES);
  });

  it("with clarive.caCertificate (absolute or ~/), signs in", async () => {
    assert.equal((await clientWith(certs.caCert).me()).username, "carol");
    assert.equal((await clientWith("~/ca.pem").me()).username, "carol", "~ is the home folder");
  });

  it("trusts a bundle file, and still the public CAs for other servers", async () => {
    const bundle = path.join(certs.dir, "bundle.pem");
    fs.writeFileSync(bundle, fs.readFileSync(other.caCert, "utf8") + fs.readFileSync(certs.caCert, "utf8"));
    assert.equal((await clientWith(bundle).me()).username, "carol");
  });

  it("with another CA, names the file that does not vouch for the server", async () => {
    const error: unknown = await clientWith(other.caCert)
      .me()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ServerCertificateError, String(error));
    assert.match(error.message, new RegExp(`not signed by the CA in clarive\\.caCertificate \\(${other.caCert.replace(/[.]/g, "\\.")}\\)`));
    assert.doesNotMatch(error.message, RAW_CODES);
  });

  it("names a host the certificate is not for", async () => {
    const wrongHost = await startFakeHttpsApi(certs.serverCert, certs.serverKey, "127.0.0.2");
    try {
      const error: unknown = await clientWith(certs.caCert, wrongHost.url)
        .me()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof ServerCertificateError, String(error));
      assert.equal(error.code, "ERR_TLS_CERT_ALTNAME_INVALID");
      assert.match(error.message, /certificate is not issued for 127\.0\.0\.2/);
    } finally {
      await wrongHost.close();
    }
  });

  it("says so when an https:// URL reaches a plain HTTP server", async () => {
    const plain = await startFakeHttpApi();
    try {
      for (const ca of ["", certs.caCert]) {
        const error: unknown = await clientWith(ca, plain.url.replace(/^http:/, "https:"))
          .me()
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        assert.ok(error instanceof ServerCertificateError, String(error));
        assert.match(error.message, /does not speak HTTPS at this address/);
      }
    } finally {
      await plain.close();
    }
  });

  it("refuses an unusable CA file with a message naming the setting and the path, sending nothing", async () => {
    const missing = path.join(certs.dir, "missing.pem");
    const keyOnly = certs.serverKey;
    const broken = path.join(certs.dir, "broken.pem");
    fs.writeFileSync(broken, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    const cases: Array<[string, RegExp]> = [
      [missing, /^The CA certificate file set in clarive\.caCertificate \(.*missing\.pem\) cannot be read: there is no such file\.$/],
      [certs.dir, /cannot be read: it is a folder, not a file/],
      [keyOnly, /^The file set in clarive\.caCertificate \(.*server\.key\) holds no PEM certificate/],
      [broken, /^The file set in clarive\.caCertificate \(.*broken\.pem\) holds an invalid certificate/],
      ["relative/ca.pem", /^clarive\.caCertificate must be an absolute path/],
    ];
    for (const [setting, expected] of cases) {
      const error: unknown = await clientWith(setting)
        .me()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof CaCertificateError, `${setting}: ${String(error)}`);
      assert.match(error.message, expected);
    }
    await assert.rejects(loadCaCertificates(missing), CaCertificateError);
    assert.equal((await loadCaCertificates(certs.caCert)).length, 1);
  });

  it("reads the CA file again when it changes", async () => {
    const file = path.join(certs.dir, "rotating.pem");
    fs.writeFileSync(file, fs.readFileSync(other.caCert));
    const client = clientWith(file);
    await assert.rejects(client.me(), ServerCertificateError);
    fs.writeFileSync(file, `${fs.readFileSync(certs.caCert, "utf8")}\n`);
    assert.equal((await client.me()).username, "carol");
  });
});

describe("HTTPS: sign in and Configure Git Remote with a private CA", function () {
  this.timeout(60_000);
  let certs: TestCertificates;
  let api: FakeApi;
  const token = FAKE_API_TOKEN;

  before(async () => {
    certs = createTestCertificates();
    api = await startFakeHttpsApi(certs.serverCert, certs.serverKey);
  });
  after(async () => {
    await api?.close();
    certs?.remove();
  });

  it("fails to sign in without the CA with the sentence, and signs in with it", async () => {
    const t = testDeps();
    t.ui.answer({ input: api.url }, { pick: "API key" }, { input: `clapi_${"2".repeat(36)}` });
    assert.equal(await signIn(t.deps), false);
    const [error] = t.ui.messages("error");
    assert.match(error ?? "", /certificate is not trusted \(issued by a private CA\?\)\. Set clarive\.caCertificate/);
    assert.doesNotMatch(error ?? "", RAW_CODES);
    assert.equal(t.deps.session.signedIn, undefined);

    t.settings.caCertificate = certs.caCert;
    t.ui.answer({ input: api.url }, { pick: "API key" }, { input: `clapi_${"2".repeat(36)}` });
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
  });

  it("an unreadable CA file stops the sign-in with a message naming the setting and path", async () => {
    const t = testDeps();
    t.settings.caCertificate = path.join(certs.dir, "nope.pem");
    t.ui.answer({ input: api.url }, { pick: "API key" }, { input: `clapi_${"2".repeat(36)}` });
    assert.equal(await signIn(t.deps), false);
    assert.match(t.ui.messages("error")[0] ?? "", /clarive\.caCertificate \(.*nope\.pem\) cannot be read/);
  });

  it("sets http.<server>/.sslCAInfo once in the repository's config, and Remove Git Credentials removes it", async () => {
    const t = testDeps();
    t.settings.caCertificate = certs.caCert;
    t.ui.answer({ input: api.url }, { pick: "API key" }, { input: `clapi_${"2".repeat(36)}` });
    assert.equal(await signIn(t.deps), true);
    const repo = new FakeRepository("/work/widgets");
    t.repositories.push(repo);
    const key = `http.${api.url}/.sslCAInfo`;
    for (let round = 0; round < 2; round++) {
      t.ui.answer(
        ...(round === 1 ? [{ pick: "origin" }] : []),
        { pick: "acme/widgets" },
        ...(round === 1 ? [{ pick: "Keep the stored token" }] : [{ pick: "Paste an existing token" }, { input: token }]),
        { pick: "VS Code secret storage (recommended)" },
      );
      const configured = await configureGitRemote(t.deps);
      t.ui.assertDone();
      assert.equal(configured?.caFile, certs.caCert);
      assert.equal(repo.value(key), certs.caCert);
      assert.equal(repo.remotes.length, 1);
    }
    assert.match(t.ui.messages("info").at(-1) ?? "", /trusts the CA in .*ca\.pem for the server/);

    t.ui.answer({ pickMany: ["acme/widgets", "widgets: trust of ca.pem"] });
    assert.equal(await removeGitCredentials(t.deps), 2);
    assert.equal(repo.config.has(key), false);
    assert.deepEqual(t.deps.caTrust.all(), []);
  });

  it("without a CA file, Configure Git Remote removes the key it wrote before, and leaves one it did not write", async () => {
    const t = testDeps();
    t.settings.caCertificate = certs.caCert;
    t.ui.answer({ input: api.url }, { pick: "API key" }, { input: `clapi_${"2".repeat(36)}` });
    assert.equal(await signIn(t.deps), true);
    const repo = new FakeRepository("/work/gadgets");
    t.repositories.push(repo);
    const key = `http.${api.url}/.sslCAInfo`;
    t.ui.answer(
      { pick: "acme/widgets" },
      { pick: "Paste an existing token" },
      { input: token },
      { pick: "VS Code secret storage (recommended)" },
    );
    await configureGitRemote(t.deps);
    assert.equal(repo.value(key), certs.caCert);

    // The user cleared the setting (say the CA is in the system store now): no CA file for git.
    t.deps.caFile = () => undefined;
    t.ui.answer(
      { pick: "origin" },
      { pick: "acme/widgets" },
      { pick: "Keep the stored token" },
      { pick: "VS Code secret storage (recommended)" },
    );
    const configured = await configureGitRemote(t.deps);
    t.ui.assertDone();
    assert.equal(configured?.caFile, undefined);
    assert.equal(repo.config.has(key), false, "the key this extension wrote is gone");

    repo.config.set(key, ["/the/users/own/ca.pem"]);
    t.ui.answer(
      { pick: "origin" },
      { pick: "acme/widgets" },
      { pick: "Keep the stored token" },
      { pick: "VS Code secret storage (recommended)" },
    );
    await configureGitRemote(t.deps);
    assert.equal(repo.value(key), "/the/users/own/ca.pem", "a value the user set is left alone");
  });

  it("writes nothing about CAs for an http:// server", async () => {
    const plain = await startFakeHttpApi();
    try {
      const t = testDeps();
      t.settings.caCertificate = certs.caCert;
      t.ui.answer({ input: plain.url }, { pick: "API key" }, { input: `clapi_${"2".repeat(36)}` });
      assert.equal(await signIn(t.deps), true);
      const repo = new FakeRepository("/work/plain");
      t.repositories.push(repo);
      t.ui.answer(
        { pick: "acme/widgets" },
        { pick: "Paste an existing token" },
        { input: token },
        { pick: "VS Code secret storage (recommended)" },
      );
      const configured = await configureGitRemote(t.deps);
      assert.equal(configured?.caFile, undefined);
      assert.ok(![...repo.config.keys()].some((key) => key.includes("sslCAInfo")));
    } finally {
      await plain.close();
    }
  });
});
