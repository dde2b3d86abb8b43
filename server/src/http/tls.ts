import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import fs from "node:fs";
import tls from "node:tls";
import type { Logger } from "pino";
import { ConfigError, type TlsFiles } from "../config";

/** Sent on every response over TLS: a browser that once reached the service keeps to https for a year. */
export const STRICT_TRANSPORT_SECURITY = "max-age=31536000";

/** The PEM contents of TLS_CERT_FILE and TLS_KEY_FILE, checked to work together. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  /** Of the server's own (first) certificate, as `getPeerCertificate().serialNumber` shows it. */
  serialNumber: string;
  validTo: Date;
}

/** One line naming the variable, the file and what is wrong with it: what an operator fixes. */
function fail(variable: "TLS_CERT_FILE" | "TLS_KEY_FILE", problem: string): never {
  throw new ConfigError(`Invalid configuration: ${variable}: ${problem}`);
}

/** OpenSSL's message without its numeric prefix ("error:0480006C:PEM routines::no start line"). */
const reason = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error))
    .split("\n")[0]!
    .replace(/^error:[0-9A-F]+:/, "")
    .replace(/::/, ": ");

function readFile(variable: "TLS_CERT_FILE" | "TLS_KEY_FILE", file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied (the service's user must be able to read it)"
          : code === "EISDIR"
            ? "it is a folder, not a file"
            : reason(error);
    return fail(variable, `cannot read ${file}: ${why}`);
  }
}

/**
 * Reads the certificate (the server's first, then any intermediates) and its key, and checks
 * everything a TLS handshake would otherwise find out later, one client at a time.
 * Throws a ConfigError with a one-line message.
 */
export function readTlsCredentials(files: TlsFiles): TlsCredentials {
  const cert = readFile("TLS_CERT_FILE", files.certFile);
  const key = readFile("TLS_KEY_FILE", files.keyFile);
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    fail("TLS_CERT_FILE", `${files.certFile} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    fail("TLS_CERT_FILE", `${files.certFile} is not a valid PEM certificate (${reason(error)})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    // Both PEM spellings of an encrypted key say so in the clear (PKCS#8's header, or the legacy Proc-Type line).
    const encrypted = key.includes("ENCRYPTED");
    fail(
      "TLS_KEY_FILE",
      encrypted
        ? `${files.keyFile} is encrypted with a passphrase; give the service an unencrypted key (openssl pkey -in key.pem -out plain.pem)`
        : `${files.keyFile} is not a PEM private key (${reason(error)})`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    fail(
      "TLS_KEY_FILE",
      `${files.keyFile} is not the key of the first certificate in ${files.certFile} (the server's certificate must come first, then intermediates)`,
    );
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    fail("TLS_CERT_FILE", `${files.certFile} with ${files.keyFile} is refused by TLS (${reason(error)})`);
  }
  return { cert, key, serialNumber: certificate.serialNumber.toUpperCase(), validTo: new Date(certificate.validTo) };
}

/** Logged at start and after each reload: which certificate is served, and a warning when it has expired. */
export function logCertificate(logger: Logger, credentials: TlsCredentials, event: "loaded" | "reloaded"): void {
  const fields = { serialNumber: credentials.serialNumber, validTo: credentials.validTo.toISOString() };
  if (credentials.validTo.getTime() < Date.now()) {
    logger.warn(fields, `TLS certificate ${event}, but it expired on ${fields.validTo}: clients will refuse it`);
  } else {
    logger.info(fields, `TLS certificate ${event}`);
  }
}

/**
 * Re-reads TLS_CERT_FILE and TLS_KEY_FILE (SIGHUP, after a renewal) and serves them to new
 * connections; connections already open, such as a running clone, keep theirs. A broken pair
 * is logged and the previous certificate stays in use, so a bad renewal never takes the service down.
 * Returns the new credentials, or undefined when the old ones stay.
 */
export function reloadTlsCredentials(server: tls.Server, files: TlsFiles, logger: Logger): TlsCredentials | undefined {
  let credentials: TlsCredentials;
  try {
    credentials = readTlsCredentials(files);
    server.setSecureContext({ cert: credentials.cert, key: credentials.key });
  } catch (error) {
    const message = error instanceof ConfigError ? error.message.replace(/^Invalid configuration: /, "") : reason(error);
    logger.error(`TLS certificate not reloaded, the previous one stays in use: ${message}`);
    return undefined;
  }
  logCertificate(logger, credentials, "reloaded");
  return credentials;
}
