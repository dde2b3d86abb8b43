/** Typed failures of the REST client, so commands can word a clear message for each. */

/** The server answered with an error body (`{error:{code,message}}`) or an unexpected status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** 401: no, bad or revoked API key (or wrong password at login). */
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/**
 * Why a connection failed, as the end of a sentence, from Node's error code ("ECONNREFUSED"…);
 * undefined for codes without a plain wording (the raw reason is kept then).
 */
export function unreachableReason(code: string | undefined, name = "the server"): string | undefined {
  switch (code) {
    case "ECONNREFUSED":
      return `nothing answers at that address (connection refused). Check the URL and that ${name} is running.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name could not be found. Check the URL and your network.";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
    case "TimeoutError":
      return "it did not answer in time. Check the URL, your network or proxy.";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "the connection was dropped. Check the URL (http:// or https://) and try again.";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "the network cannot reach that host. Check your network or VPN.";
    default:
      return undefined;
  }
}

/** The server could not be reached at all (refused, DNS, timeout; TLS: ServerCertificateError below). */
export class ServerUnreachableError extends Error {
  constructor(
    readonly serverUrl: string,
    readonly reason: string,
  ) {
    super(`Cannot reach the Clarive server at ${serverUrl}: ${reason}`);
    this.name = "ServerUnreachableError";
  }
}

/**
 * The connection was refused over the server's certificate (untrusted CA, expired, wrong name…),
 * worded as a sentence; `code` keeps Node's code for the log. A kind of unreachable: nothing was sent.
 */
export class ServerCertificateError extends ServerUnreachableError {
  constructor(
    serverUrl: string,
    readonly code: string,
    readonly sentence: string,
  ) {
    super(serverUrl, sentence);
    this.name = "ServerCertificateError";
    this.message = `Cannot connect securely to the Clarive server at ${serverUrl}: ${sentence}`;
  }
}

/** `clarive.caCertificate` names a file that cannot be used (not absolute, unreadable, no PEM certificate). */
export class CaCertificateError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = "CaCertificateError";
  }
}

/** The server answered, but not with the JSON the API promises (wrong URL, a proxy page…). */
export class NotAClariveServerError extends Error {
  constructor(
    readonly serverUrl: string,
    readonly status: number,
  ) {
    super(`${serverUrl} did not answer like a Clarive server (HTTP ${status}). Check the server URL.`);
    this.name = "NotAClariveServerError";
  }
}

/** One sentence for a notification, whatever went wrong. */
export function describeError(error: unknown): string {
  if (
    error instanceof ApiError ||
    error instanceof ServerUnreachableError ||
    error instanceof NotAClariveServerError ||
    error instanceof CaCertificateError
  ) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
