/**
 * Every stable error `code` the service answers with, the HTTP status it comes with and what it
 * means. Part of the API contract: `DomainError` accepts only these codes (a new one fails to
 * compile until it is listed here), and the OpenAPI document lists them from this table, so a
 * generated client knows each one.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, meaning: "A field is missing, has the wrong type or is out of range; `details` lists each problem" },
  invalid_json: { status: 400, meaning: "The body is not valid JSON" },
  invalid_request: { status: 400, meaning: "The request could not be understood" },
  bad_request: { status: 400, meaning: "Malformed HTTP request (answered before any route)" },
  invalid_name: { status: 400, meaning: "A project or repository name breaks the naming rules" },
  invalid_expiration: { status: 400, meaning: "Give exactly one of expiresInDays or expiresAt, within the allowed lifetime" },
  invalid_repository_scope: { status: 400, meaning: "A repository in the scope does not exist or you have no access to it" },
  unauthenticated: { status: 401, meaning: "No Authorization header: send `Authorization: Bearer <API key>`" },
  invalid_authorization: { status: 401, meaning: "The Authorization header is not `Bearer <API key>`" },
  invalid_api_key: { status: 401, meaning: "The API key is unknown, revoked or its user deactivated" },
  pat_not_accepted: { status: 401, meaning: "A personal access token was sent; the REST API takes an API key from login" },
  invalid_credentials: { status: 401, meaning: "Wrong username or password (or the user is deactivated)" },
  git_unauthenticated: { status: 401, meaning: "git credentials are missing or wrong: a username and a personal access token" },
  forbidden: { status: 403, meaning: "Not allowed" },
  admin_required: { status: 403, meaning: "Only administrators may do this" },
  pat_auth_disabled: { status: 403, meaning: "Personal access token authentication is turned off on this server" },
  git_forbidden: { status: 403, meaning: "The token may not do this: scope, permission, expiry, or PAT access of the repository" },
  git_throttled: { status: 403, meaning: "Too many failed attempts from this address; Retry-After says when to try again" },
  missing_original_uri: { status: 403, meaning: "The proxy sent no X-Original-URI header" },
  invalid_original_method: { status: 403, meaning: "X-Original-Method is not an HTTP method" },
  not_a_git_request: { status: 403, meaning: "X-Original-URI is not a git smart-HTTP request for /git/<project>/<name>.git" },
  not_found: { status: 404, meaning: "No such endpoint" },
  user_not_found: { status: 404, meaning: "No user with this name (or your own account no longer exists)" },
  repository_not_found: { status: 404, meaning: "No such repository" },
  membership_not_found: { status: 404, meaning: "The user is not a direct member of the repository" },
  token_not_found: { status: 404, meaning: "No token with this id among yours" },
  method_not_allowed: { status: 405, meaning: "This endpoint does not support that method" },
  conflict: { status: 409, meaning: "The change conflicts with the current state" },
  user_exists: { status: 409, meaning: "A user with this name already exists" },
  last_admin: { status: 409, meaning: "The change would leave no active administrator" },
  repository_exists: { status: 409, meaning: "A repository with this name already exists (names are unique regardless of case)" },
  project_name_taken: { status: 409, meaning: "A project with this name in another case already exists" },
  repository_folder_exists: { status: 409, meaning: "The repositories directory already has a folder for this name" },
  payload_too_large: { status: 413, meaning: "Request body larger than 64 KiB" },
  unsupported_media_type: { status: 415, meaning: "Send the body as JSON (Content-Type: application/json)" },
  expectation_failed: { status: 417, meaning: "Only Expect: 100-continue is supported" },
  too_many_requests: { status: 429, meaning: "Too many requests; Retry-After says when to try again" },
  headers_too_large: { status: 431, meaning: "Request headers larger than the limit (answered before any route)" },
  internal_error: { status: 500, meaning: "Internal server error (logged on the server, never detailed here)" },
  starting: { status: 503, meaning: "The service is starting; Retry-After says when to try again" },
  not_implemented: { status: 501, meaning: "This HTTP method is not implemented" },
  database_unavailable: { status: 503, meaning: "The service cannot reach its database right now; Retry-After says when to try again" },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** The codes listed with this status: what each DomainError subclass may carry. */
export type ErrorCodeFor<S extends number> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]["status"] extends S ? C : never }[ErrorCode];
