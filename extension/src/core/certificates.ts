/**
 * HTTPS trust, the pure part: where `clarive.caCertificate` points (with `~` expanded), and one
 * sentence for each way a server's certificate can be refused, from the error code Node puts on the
 * failure (`error.code`, or `error.cause.code` for `fetch`). No raw OpenSSL code reaches the user for
 * the common cases; unusual ones are named in parentheses after a sentence.
 */
import path from "node:path";

export const CA_SETTING = "clarive.caCertificate";

/** `path` undefined: the setting is empty. */
export type CaPath = { ok: true; path: string | undefined } | { ok: false; message: string };

/**
 * The setting's value as an absolute path: `~` and `~/…` expand to `home`; empty means "not set".
 * A relative path is refused: the extension host's working folder is nothing the user chose.
 */
export function resolveCaPath(value: string | undefined, home: string): CaPath {
  const trimmed = (value ?? "").trim();
  if (trimmed.length === 0) return { ok: true, path: undefined };
  const expanded = trimmed === "~" ? home : /^~[/\\]/.test(trimmed) ? path.join(home, trimmed.slice(2)) : trimmed;
  if (!path.isAbsolute(expanded)) {
    return {
      ok: false,
      message: `${CA_SETTING} must be an absolute path to a PEM file (or start with ~/), not "${trimmed}".`,
    };
  }
  return { ok: true, path: path.normalize(expanded) };
}

/** The PEM certificate blocks of a file's text, in order (a bundle may hold several). */
export function pemCertificateBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** The first error with a code: the error or one of the causes it wraps (fetch: TypeError "fetch failed" → cause). */
export function codedError(error: unknown): { code: string; message: string } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string" && code.length > 0) return { code, message: typeof message === "string" ? message : "" };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export const errorCode = (error: unknown): string | undefined => codedError(error)?.code;

/** A certificate chain the client could not build to a trusted root. */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_UNTRUSTED",
]);

/** Refusals of the certificate named by the sentence "was refused" plus the code. */
const OTHER_CERTIFICATE_CODES = new Set([
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REJECTED",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "HOSTNAME_MISMATCH",
]);

/** A TLS-level answer that says the other end is not an HTTPS server. */
const NOT_TLS = new Set(["ERR_SSL_WRONG_VERSION_NUMBER", "ERR_SSL_PACKET_LENGTH_TOO_LONG", "ERR_SSL_HTTP_REQUEST"]);

export interface CertificateContext {
  serverUrl: string;
  /** The CA file the request trusted in addition to the defaults, when `clarive.caCertificate` is set. */
  caFile?: string;
}

function hostOf(serverUrl: string): string {
  try {
    return new URL(serverUrl).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return serverUrl;
  }
}

/**
 * The sentence for a TLS failure with this code (and the message of the error that had it), or
 * undefined when the code is no TLS failure (ECONNREFUSED, ENOTFOUND…: those stay "cannot reach").
 */
export function describeCertificateProblem(code: string, context: CertificateContext, message = ""): string | undefined {
  const trustHint = context.caFile
    ? `It is not signed by the CA in ${CA_SETTING} (${context.caFile}): point the setting at the PEM file of the CA that issued the server's certificate.`
    : `Set ${CA_SETTING} to your CA's PEM file, or add the CA to the system's trusted certificates (VS Code's http.systemCertificates reads them).`;
  if (UNTRUSTED.has(code)) {
    return `the server's certificate is not trusted (issued by a private CA?). ${trustHint}`;
  }
  if (code === "DEPTH_ZERO_SELF_SIGNED_CERT") {
    return context.caFile
      ? `the server's certificate is self-signed and not the one in ${CA_SETTING} (${context.caFile}).`
      : `the server's certificate is self-signed, so nothing vouches for it. Set ${CA_SETTING} to that certificate's PEM file, or better, have it issued by your CA.`;
  }
  if (code === "CERT_HAS_EXPIRED")
    return "the server's certificate (or one in its chain) has expired: the server's administrator must renew it.";
  if (code === "CERT_NOT_YET_VALID")
    return "the server's certificate is not valid yet: check this computer's clock, or the certificate's start date.";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const host = hostOf(context.serverUrl);
    return `the server's certificate is not issued for ${host}: use the host name the certificate names, or have it reissued for ${host}.`;
  }
  if (code === "CERT_REVOKED") return "the server's certificate has been revoked.";
  // Older OpenSSL builds say EPROTO with the reason in the message.
  if (NOT_TLS.has(code) || (code === "EPROTO" && /wrong version number|packet length too long|http request/i.test(message)))
    return "the server does not speak HTTPS at this address (a plain http:// server?): check the server URL.";
  if (OTHER_CERTIFICATE_CODES.has(code)) return `the server's certificate was refused (${code}).`;
  if (code.startsWith("ERR_SSL_") || code === "EPROTO") return `the secure connection (TLS) to the server failed (${code}).`;
  return undefined;
}

/** The git config key that makes git trust a CA file for every URL under the server (`http.<url>.sslCAInfo`). */
export function sslCaInfoKey(serverUrl: string): string {
  return `http.${serverUrl.replace(/\/+$/, "")}/.sslCAInfo`;
}
