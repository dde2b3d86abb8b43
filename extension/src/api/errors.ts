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

/** The server could not be reached at all (refused, DNS, TLS, timeout). */
export class ServerUnreachableError extends Error {
  constructor(
    readonly serverUrl: string,
    readonly reason: string,
  ) {
    super(`Cannot reach the Clarive server at ${serverUrl}: ${reason}`);
    this.name = "ServerUnreachableError";
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
  if (error instanceof ApiError || error instanceof ServerUnreachableError || error instanceof NotAClariveServerError) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
