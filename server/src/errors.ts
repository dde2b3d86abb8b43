import type { ErrorCode, ErrorCodeFor } from "./errorCodes";

/**
 * Domain errors carry a stable `code` (part of the API contract, each listed in errorCodes.ts)
 * and the HTTP status that the one error middleware maps them to. Services throw them; routes
 * never build error responses themselves.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown, code: ErrorCodeFor<400> = "validation_failed") {
    super(400, code, message, details);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = "Authentication required: send Authorization: Bearer <API key>", code: ErrorCodeFor<401> = "unauthenticated") {
    super(401, code, message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string, code: ErrorCodeFor<403> = "forbidden") {
    super(403, code, message);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, code: ErrorCodeFor<404> = "not_found") {
    super(404, code, message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, code: ErrorCodeFor<409> = "conflict") {
    super(409, code, message);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code: ErrorCodeFor<429> = "too_many_requests",
  ) {
    super(429, code, message);
  }
}

/** The database cannot be reached right now (db/unavailable.ts tells); the client should try again. */
export class ServiceUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code: ErrorCodeFor<503> = "database_unavailable",
  ) {
    super(503, code, message);
  }
}
