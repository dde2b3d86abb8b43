import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import Router from "@koa/router";
import type { Context } from "koa";
import type { Knex } from "knex";
import type { ServiceConfig } from "../config";
import type { Clock } from "../lib/clock";
import type { ErrorCode } from "../errorCodes";
import { ValidationError } from "../errors";
import { readJsonBody } from "../middleware/body";
import type { z } from "../schemas/zod";
import { authenticateApiKey, type AuthenticatedCaller } from "../services/auth";
import type { RequestMeta } from "../services/types";
import { TAGS, errorCodesByStatus, errorExample, errorResponse, type AnyObject, type OperationDoc } from "./operationDoc";

interface HandlerInput<P, Q, B, Auth> {
  params: P;
  query: Q;
  body: B;
  caller: Auth extends "user" ? AuthenticatedCaller : null;
  meta: RequestMeta;
  ctx: Context;
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

/**
 * Where in a request's params, query or body a NUL character is (a key or a string), if
 * anywhere: Postgres text cannot hold one, so it is refused here, for every route, as bad input.
 * Iterative: a body may nest thousands of levels deep.
 */
function nulCharacterAt(value: unknown): string[] | undefined {
  const stack: [unknown, string[]][] = [[value, []]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, path] = next;
    if (typeof item === "string") {
      if (item.includes("\u0000")) return path;
    } else if (item && typeof item === "object") {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes("\u0000")) return [...path, key];
        stack.push([child, [...path, key]]);
      }
    }
  }
  return undefined;
}

function parse<T extends AnyObject>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return {} as z.infer<T>;
  const nul = nulCharacterAt(value);
  if (nul) {
    const issue = {
      path: [where, ...nul.map((part) => part.split("\u0000").join("\\0"))].join("."),
      message: "must not contain a NUL character",
    };
    throw new ValidationError(`${issue.path}: ${issue.message}`, [issue]);
  }
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

  /**
   * An endpoint outside /api/v1 answered before Koa (health, metrics): in the OpenAPI document
   * only. `responses` by status: the body's media type, schema and example, and its headers.
   */
  documentOutsideApi(spec: {
    path: string;
    operationId: string;
    summary: string;
    description: string;
    responses: Record<
      number,
      { description: string; mediaType: string; schema: object; example: unknown; headers?: Record<string, string> }
    >;
  }): void {
    this.claimOperationId(spec.operationId);
    const responses: Record<string, object> = {};
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers && {
          headers: Object.fromEntries(
            Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }]),
          ),
        }),
        content: { [response.mediaType]: { schema: response.schema, example: response.example } },
      };
    }
    this.registry.registerPath({
      method: "get",
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      description: spec.description,
      tags: ["operations"],
      security: [],
      responses,
    });
  }

  private claimOperationId(operationId: string): void {
    // Generated clients name their functions after operationIds: each must be there, and unique.
    if (!/^[a-z][A-Za-z0-9]*$/.test(operationId) || this.operationIds.has(operationId)) {
      throw new Error(`operationId "${operationId}" must be camelCase and unique`);
    }
    this.operationIds.add(operationId);
  }

  /** An endpoint served outside Koa (the auth hook): in the OpenAPI document, not in the router. */
  document<P extends AnyObject, Q extends AnyObject, B extends AnyObject>(spec: OperationDoc<P, Q, B>): void {
    this.claimOperationId(spec.operationId);
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
