/**
 * Domain errors carry a stable `code` (part of the API contract) and the HTTP status
 * that the one error middleware maps them to. Services throw them; routes never
 * build error responses themselves.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown, code = "validation_failed") {
    super(400, code, message, details);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = "Authentication required: send Authorization: Bearer <API key>", code = "unauthenticated") {
    super(401, code, message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string, code = "forbidden") {
    super(403, code, message);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, code = "not_found") {
    super(404, code, message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, code = "conflict") {
    super(409, code, message);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = "too_many_requests",
  ) {
    super(429, code, message);
  }
}
