import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import Router from "@koa/router";
import type { Context } from "koa";
import type { Knex } from "knex";
import type { ServiceConfig } from "../config";
import type { Clock } from "../lib/clock";
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
  401: "Missing or invalid API key",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Body larger than 64 KiB",
  415: "Body is not JSON",
  429: "Too many requests; Retry-After says when to try again",
};

interface HandlerInput<P, Q, B, Auth> {
  params: P;
  query: Q;
  body: B;
  caller: Auth extends "user" ? AuthenticatedCaller : null;
  meta: RequestMeta;
  ctx: Context;
}

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends AnyObject, Auth extends "none" | "user"> {
  method: Method;
  /** OpenAPI style, relative to /api/v1: "/tokens/{id}". */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  params?: P;
  query?: Q;
  body?: B;
  /** `secret`: the answer holds a secret shown only once, which no cache may keep. */
  success: { status: 200 | 201 | 202 | 204; description: string; schema?: z.ZodType; secret?: true };
  /** Error statuses this route can answer besides 400 (validation) and, with auth, 401. */
  errors?: number[];
  handler: (input: HandlerInput<z.infer<P>, z.infer<Q>, z.infer<B>, Auth>) => Promise<unknown>;
}

export interface ApiDeps {
  db: Knex;
  config: ServiceConfig;
  clock: Clock;
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

  constructor(readonly deps: ApiDeps) {
    this.registry.registerComponent("securitySchemes", "apiKey", {
      type: "http",
      scheme: "bearer",
      description: "An API key from POST /api/v1/auth/login (clapi_…). Personal access tokens are refused here.",
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
  document<P extends AnyObject, Q extends AnyObject, B extends AnyObject, Auth extends "none" | "user">(
    spec: Omit<RouteSpec<P, Q, B, Auth>, "handler">,
  ): void {
    const errorStatuses = new Set([400, ...(spec.auth === "user" ? [401] : []), ...(spec.errors ?? [])]);
    if (spec.body) errorStatuses.add(413).add(415);
    const responses: Record<string, object> = {
      [spec.success.status]: {
        description: spec.success.description,
        ...(spec.success.schema && { content: { "application/json": { schema: spec.success.schema } } }),
      },
    };
    for (const status of [...errorStatuses].sort()) {
      responses[status] = {
        description: ERROR_DESCRIPTIONS[status] ?? "Error",
        content: { "application/json": { schema: ErrorSchema } },
      };
    }
    this.registry.registerPath({
      method: spec.method,
      path: `/api/v1${spec.path}`,
      summary: spec.summary,
      tags: [spec.tag],
      ...(spec.auth === "user" && { security: [{ apiKey: [] }] }),
      request: {
        ...(spec.params && { params: spec.params as unknown as z.ZodObject }),
        ...(spec.query && { query: spec.query as unknown as z.ZodObject }),
        ...(spec.body && { body: { required: true, content: { "application/json": { schema: spec.body } } } }),
      },
      responses,
    });
  }

  openApiDocument(): ReturnType<OpenApiGeneratorV31["generateDocument"]> {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: {
        title: "Clarive Git PATs",
        version: "1.0.0",
        description: "Personal access tokens for git over HTTP: settings, repositories, tokens and the git auth hook.",
      },
      servers: [{ url: this.deps.config.publicUrl }],
    });
  }
}
