import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A private CA and a server certificate it signed, made with openssl for one test run. */
export interface TestCertificates {
  dir: string;
  /** The CA's certificate (PEM): what git (http.sslCAInfo) and VS Code are told to trust. */
  caCert: string;
  caKey: string;
  /** The server's certificate (PEM) followed by nothing else; `chain` has it with the CA appended. */
  serverCert: string;
  serverKey: string;
  chain: string;
  remove(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

/** Names the server certificate is valid for: every way the tests reach a loopback service. */
const SERVER_NAMES = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1";

/**
 * Generates `Clarive Test CA` and a certificate for localhost / 127.0.0.1 / ::1 signed by it,
 * valid for `days` (default 2). Nothing is committed: every run makes its own.
 */
export function createTestCertificates(days = 2): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-tls-"));
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      String(days),
      "-subj",
      "/CN=Clarive Test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  const certs: TestCertificates = {
    dir,
    caCert: path.join(dir, "ca.pem"),
    caKey: path.join(dir, "ca.key"),
    serverCert: path.join(dir, "server.pem"),
    serverKey: path.join(dir, "server.key"),
    chain: path.join(dir, "chain.pem"),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  issueServerCertificate(certs, days);
  return certs;
}

/**
 * (Re)issues the server certificate in place with a fresh key and serial number, as a renewal
 * would: the files change, the CA stays. Returns the new certificate's serial (hex, upper case).
 */
export function issueServerCertificate(certs: TestCertificates, days = 2): string {
  const { dir } = certs;
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key.new", "-out", "server.csr", "-subj", "/CN=localhost"], dir);
  fs.writeFileSync(path.join(dir, "server.ext"), `${SERVER_NAMES}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${randomSerial()}`,
      "-days",
      String(days),
      "-extfile",
      "server.ext",
      "-out",
      "server.pem.new",
    ],
    dir,
  );
  // Renamed into place, so a reader never sees a half-written file.
  fs.renameSync(path.join(dir, "server.key.new"), certs.serverKey);
  fs.renameSync(path.join(dir, "server.pem.new"), certs.serverCert);
  fs.writeFileSync(certs.chain, fs.readFileSync(certs.serverCert, "utf8") + fs.readFileSync(certs.caCert, "utf8"));
  return serialOf(certs.serverCert);
}

/** The serial number of a PEM certificate, as Node's `getPeerCertificate().serialNumber` shows it. */
export function serialOf(certFile: string): string {
  const out = openssl(["x509", "-in", certFile, "-noout", "-serial"], path.dirname(certFile)).toString();
  return out
    .trim()
    .replace(/^serial=/, "")
    .toUpperCase();
}

const randomSerial = (): string =>
  Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16))
    .join("")
    .replace(/^0/, "1");
