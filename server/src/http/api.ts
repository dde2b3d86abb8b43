import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import Router from "@koa/router";
import type { Context } from "koa";
import type { Knex } from "knex";
import type { ServiceConfig } from "../config";
import type { Clock } from "../lib/clock";
import { ALL_ERROR_CODES, ERROR_CODES, type ErrorCode } from "../errorCodes";
import { ValidationError } from "../errors";
import { readJsonBody } from "../middleware/body";
import { ErrorSchema } from "../schemas/common";
import type { z } from "../schemas/zod";
import { authenticateApiKey, type AuthenticatedCaller } from "../services/auth";
import type { RequestMeta } from "../services/types";

type Method = "get" | "post" | "put" | "patch" | "delete";
type AnyObject = z.ZodType<Record<string, unknown>>;

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
  operations: "Health and metrics for operators",
} as const;

/**
 * An error the operation can answer with, besides those every operation of its kind can
 * (validation, API key, body, internal): a code from errorCodes.ts (its status comes from there),
 * a bare status (its default code), or codes answered with another status than their own.
 */
export type ErrorEntry = ErrorCode | number | { status: number; codes: ErrorCode[] };

interface HandlerInput<P, Q, B, Auth> {
  params: P;
  query: Q;
  body: B;
  caller: Auth extends "user" ? AuthenticatedCaller : null;
  meta: RequestMeta;
  ctx: Context;
}

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

export interface RouteSpec<
  P extends AnyObject,
  Q extends AnyObject,
  B extends AnyObject,
  Auth extends "none" | "user",
> extends OperationDoc<P, Q, B> {
  auth: Auth;
  handler: (input: HandlerInput<z.infer<P>, z.infer<Q>, z.infer<B>, Auth>) => Promise<unknown>;
}

export interface ApiDeps {
  db: Knex;
  config: ServiceConfig;
  clock: Clock;
}

/** The error codes of one operation by status, for its responses. */
function errorCodesByStatus(spec: OperationDoc<AnyObject, AnyObject, AnyObject>): Map<number, ErrorCode[]> {
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

function errorExample(code: ErrorCode): { summary: string; value: unknown } {
  const { meaning } = ERROR_CODES[code];
  const details =
    code === "validation_failed"
      ? { details: [{ path: "body.description", message: "Too small: expected string to have >=1 characters" }] }
      : {};
  return { summary: meaning, value: { error: { code, message: meaning, ...details } } };
}

/** Each code's example is written once, under components/examples, and referenced from every answer naming it. */
function errorResponse(status: number, codes: ErrorCode[], exampleRef: (code: ErrorCode) => object): object {
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

function parse<T extends AnyObject>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return {} as z.infer<T>;
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join("."), message: i.message }));
  throw new ValidationError(issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
}

/**
 * One place defines each endpoint: its zod schemas validate the request at the edge and are
 * the same objects the OpenAPI document is generated from, so the two cannot drift apart.
 */
export class Api {
  // Case-sensitive: a path has one spelling, so every check keyed on it (the revocation barrier) sees it.
  readonly router = new Router({ prefix: "/api/v1", sensitive: true });
  readonly registry = new OpenAPIRegistry();
  private readonly operationIds = new Set<string>();
  private readonly errorExamples = new Set<ErrorCode>();

  constructor(readonly deps: ApiDeps) {
    this.registry.registerComponent("securitySchemes", "apiKey", {
      type: "http",
      scheme: "bearer",
      description: "An API key from POST /api/v1/auth/login (clapi_…). Personal access tokens are refused here.",
    });
    this.registry.registerComponent("securitySchemes", "personalAccessToken", {
      type: "http",
      scheme: "basic",
      description: "git's credentials: any username (or the token owner's) and a personal access token (clapat_…) as the password.",
    });
  }

  route<
    P extends AnyObject = z.ZodObject<Record<never, never>>,
    Q extends AnyObject = z.ZodObject<Record<never, never>>,
    B extends AnyObject = z.ZodObject<Record<never, never>>,
    Auth extends "none" | "user" = "user",
  >(spec: RouteSpec<P, Q, B, Auth>): void {
    this.document(spec);
    const koaPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
    this.router[spec.method](koaPath, async (ctx) => {
      const meta: RequestMeta = { ip: ctx.ip || null };
      const caller = spec.auth === "user" ? await authenticateApiKey(this.deps.db, ctx.get("authorization") || undefined) : null;
      ctx.state.user = caller?.username;
      const body = spec.body ? await readJsonBody(ctx) : undefined;
      const result = await spec.handler({
        params: parse(spec.params, ctx.params, "params"),
        query: parse(spec.query, ctx.query, "query"),
        body: parse(spec.body, body, "body"),
        caller: caller as HandlerInput<unknown, unknown, unknown, Auth>["caller"],
        meta,
        ctx,
      });
      ctx.status = spec.success.status;
      if (spec.success.secret) ctx.set("Cache-Control", "no-store");
      if (spec.success.status !== 204) ctx.body = result;
    });
  }

  /** An endpoint served outside Koa (the auth hook): in the OpenAPI document, not in the router. */
  document<P extends AnyObject, Q extends AnyObject, B extends AnyObject>(spec: OperationDoc<P, Q, B>): void {
    // Generated clients name their functions after operationIds: each must be there, and unique.
    if (!/^[a-z][A-Za-z0-9]*$/.test(spec.operationId) || this.operationIds.has(spec.operationId)) {
      throw new Error(`operationId "${spec.operationId}" must be camelCase and unique`);
    }
    this.operationIds.add(spec.operationId);
    const responses: Record<string, object> = {
      [spec.success.status]: {
        description: spec.success.description,
        ...(spec.success.secret && {
          headers: { "Cache-Control": { description: "`no-store`: the answer holds a secret", schema: { type: "string" } } },
        }),
        ...(spec.success.schema && { content: { "application/json": { schema: spec.success.schema } } }),
      },
    };
    for (const [status, codes] of errorCodesByStatus(spec))
      responses[status] = errorResponse(status, codes, (c) => this.errorExampleRef(c));
    const security = { none: [], user: [{ apiKey: [] }], pat: [{ personalAccessToken: [] }] }[spec.auth];
    this.registry.registerPath({
      method: spec.method,
      path: `/api/v1${spec.path}`,
      operationId: spec.operationId,
      summary: spec.summary,
      description: spec.description,
      tags: [spec.tag],
      security,
      request: {
        ...(spec.params && { params: spec.params as unknown as z.ZodObject }),
        ...(spec.query && { query: spec.query as unknown as z.ZodObject }),
        ...(spec.headers && { headers: spec.headers as unknown as z.ZodObject }),
        ...(spec.body && {
          body: {
            required: true,
            content: { "application/json": { schema: spec.body, ...(spec.examples && { examples: spec.examples }) } },
          },
        }),
      },
      responses,
    });
  }

  private errorExampleRef(code: ErrorCode): object {
    if (!this.errorExamples.has(code)) {
      this.errorExamples.add(code);
      this.registry.registerComponent("examples", code, errorExample(code));
    }
    return { $ref: `#/components/examples/${code}` };
  }

  openApiDocument(): ReturnType<OpenApiGeneratorV31["generateDocument"]> {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: {
        title: "Clarive Git PATs",
        version: "1.0.0",
        description:
          "Personal access tokens for git over HTTP: settings, repositories, tokens and the git auth hook. " +
          "Log in with POST /api/v1/auth/login and send the API key it returns as `Authorization: Bearer <apiKey>`. " +
          "Every error is JSON `{ error: { code, message, details? } }` with a stable `code` (the `Error` schema lists them all).",
        license: { name: "MIT", identifier: "MIT" },
      },
      servers: [{ url: this.deps.config.publicUrl }],
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    });
  }
}
