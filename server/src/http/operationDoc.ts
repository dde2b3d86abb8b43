import { ALL_ERROR_CODES, ERROR_CODES, type ErrorCode } from "../errorCodes";
import { ErrorSchema } from "../schemas/common";
import type { z } from "../schemas/zod";

// What api.ts writes into the OpenAPI document for each operation, apart from the schemas zod gives.

export type Method = "get" | "post" | "put" | "patch" | "delete";
export type AnyObject = z.ZodType<Record<string, unknown>>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input",
  401: "Missing or invalid credentials",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Body larger than 64 KiB",
  415: "Body is not JSON",
  429: "Too many requests; Retry-After says when to try again",
  500: "Internal error",
  503: "Service unavailable; Retry-After says when to try again",
};

/** The code a bare status in `errors` stands for: the default of its DomainError class. */
const DEFAULT_CODES: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
};

/** What any request with an API key can be refused with (services/auth.ts authenticateApiKey). */
const API_KEY_CODES: ErrorCode[] = ["unauthenticated", "invalid_authorization", "invalid_api_key", "pat_not_accepted"];
const RETRY_AFTER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "too_many_requests",
  "git_throttled",
  "database_unavailable",
  "starting",
]);
/** Any operation can meet these: a fault of the service, or its database out of reach (not 501: no documented method). */
const SERVER_CODES = ALL_ERROR_CODES.filter((c) => ERROR_CODES[c].status >= 500 && c !== "not_implemented");

/** Every operation has one; a new tag needs a line here (the document lists each with its description). */
export const TAGS = {
  auth: "Log in and out with a username and password; the API key that every other call sends",
  settings: "Server-wide git settings",
  repositories: "Repositories, their PAT access and their members",
  users: "User accounts (administrators)",
  tokens: "Your personal access tokens for git over HTTP",
  audit: "The audit trail of security-relevant events (administrators)",
  credentials: "Reporting leaked tokens",
  git: "The auth hook for a reverse proxy in front of an external git server",
  admin: "Administration across all users",
  operations: "For load balancers, orchestrators and Prometheus: outside /api/v1, no authentication, plain text",
} as const;

/**
 * An error the operation can answer with, besides those every operation of its kind can
 * (validation, API key, body, internal): a code from errorCodes.ts (its status comes from there),
 * a bare status (its default code), or codes answered with another status than their own.
 */
export type ErrorEntry = ErrorCode | number | { status: number; codes: ErrorCode[] };

/** What the OpenAPI document says about one operation: all a reader or a generated client needs. */
export interface OperationDoc<P extends AnyObject, Q extends AnyObject, B extends AnyObject> {
  method: Method;
  /** OpenAPI style, relative to /api/v1: "/tokens/{id}". */
  path: string;
  /** Unique camelCase name of the call, the function name generated clients give it: "createToken". */
  operationId: string;
  /** One line. */
  summary: string;
  /** What the call does and changes, who may make it, what to watch out for (Markdown). */
  description: string;
  tag: keyof typeof TAGS;
  /** `pat`: documentation only, for the auth hook (HTTP Basic with a personal access token). */
  auth: "none" | "user" | "pat";
  params?: P;
  query?: Q;
  /** Request headers the operation reads (documentation only: the auth hook's X-Original-URI). */
  headers?: AnyObject;
  body?: B;
  /** Named request bodies, typed by the body schema (the document's linter checks them too). */
  examples?: Record<string, { summary: string; value: z.input<B> }>;
  /** `secret`: the answer holds a secret shown only once, which no cache may keep. */
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType; secret?: true };
  errors?: ErrorEntry[];
}

/** The error codes of one operation by status, for its responses. */
export function errorCodesByStatus(spec: OperationDoc<AnyObject, AnyObject, AnyObject>): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  const add = (status: number, code: ErrorCode) => {
    const codes = byStatus.get(status) ?? [];
    if (!codes.includes(code)) byStatus.set(status, [...codes, code]);
  };
  if (spec.params || spec.query || spec.body) add(400, "validation_failed");
  if (spec.body)
    ["invalid_json", "payload_too_large", "unsupported_media_type"].forEach((c) => add(ERROR_CODES[c as ErrorCode].status, c as ErrorCode));
  if (spec.auth === "user") API_KEY_CODES.forEach((c) => add(401, c));
  for (const entry of spec.errors ?? []) {
    if (typeof entry === "string") add(ERROR_CODES[entry].status, entry);
    else if (typeof entry === "object") entry.codes.forEach((c) => add(entry.status, c));
    else {
      const code = DEFAULT_CODES[entry];
      if (!code) throw new Error(`${spec.operationId}: no default error code for status ${entry}; name the codes`);
      add(entry, code);
    }
  }
  // Unless the operation answers one with another status (the auth hook says 403 database_unavailable).
  const named = new Set([...byStatus.values()].flat());
  SERVER_CODES.filter((c) => !named.has(c)).forEach((c) => add(ERROR_CODES[c].status, c));
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

export function errorExample(code: ErrorCode): { summary: string; value: unknown } {
  const { meaning } = ERROR_CODES[code];
  const details =
    code === "validation_failed"
      ? { details: [{ path: "body.description", message: "Too small: expected string to have >=1 characters" }] }
      : {};
  return { summary: meaning, value: { error: { code, message: meaning, ...details } } };
}

/** Each code's example is written once, under components/examples, and referenced from every answer naming it. */
export function errorResponse(status: number, codes: ErrorCode[], exampleRef: (code: ErrorCode) => object): object {
  const list = codes.map((c) => `- \`${c}\`: ${ERROR_CODES[c].meaning}`).join("\n");
  return {
    description: `${ERROR_DESCRIPTIONS[status] ?? "Error"}. \`error.code\` is one of:\n\n${list}`,
    ...(codes.some((c) => RETRY_AFTER_CODES.has(c)) && {
      headers: { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" } } },
    }),
    content: {
      "application/json": { schema: ErrorSchema, examples: Object.fromEntries(codes.map((c) => [c, exampleRef(c)])) },
    },
  };
}
