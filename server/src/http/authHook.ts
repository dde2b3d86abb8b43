import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ErrorCode } from "../errorCodes";
import { parseGitRequest, type GitPathResult } from "../git/gitPath";
import { BASIC_CHALLENGE } from "../git/routes";
import type { GitAccess, GitAccessDecision } from "../gitAccess";
import { andThen, type MaybePromise } from "../lib/maybeAsync";
import { databaseUnavailable, errorResponse } from "../middleware/errors";
import { logRequest, millisecondsSince } from "../middleware/requestLog";
import { clientAddress } from "./clientAddress";

export const AUTH_HOOK_PATH = "/api/v1/git/auth";

const MAX_ORIGINAL_URI = 8192;
const MAX_ORIGINAL_METHOD = 16;

export interface AuthHookRequest {
  authorization?: string | undefined;
  originalUri?: string | undefined;
  originalMethod?: string | undefined;
  /** The git client's address (clientAddress: the peer, or with TRUST_PROXY what the proxy forwards). */
  ip: string;
  /** The proxy sent the client's address (X-Forwarded-For or X-Real-IP). */
  forwarded?: true;
}

export type AuthHookAnswer =
  { status: 204; user: string } | { status: 401 | 403; code: ErrorCode; message: string; headers: Record<string, string> };

const MAX_PARSED_REQUESTS = 10_000;
const MAX_REMEMBERED_URI = 512;
/** Parsed X-Original-URIs by method: a lookup without building a combined key per request. */
const parsedRequests = new Map<string, Map<string, GitPathResult>>();
let rememberedRequests = 0;

/**
 * parseGitRequest for X-Original-URI (raw, as nginx's $request_uri), remembered: a proxy asks
 * about the same few URLs over and over (every clone asks about the same two), and parsing is pure.
 */
function parseOriginalRequest(originalUri: string, method: string): GitPathResult {
  let byUri = parsedRequests.get(method);
  let parsed = byUri?.get(originalUri);
  if (!parsed) {
    const question = originalUri.indexOf("?");
    const path = question < 0 ? originalUri : originalUri.slice(0, question);
    parsed = parseGitRequest(path, method, question < 0 ? "" : originalUri.slice(question + 1), "external");
    // Only short URIs of real methods are remembered, so junk cannot make the memo large.
    if (originalUri.length <= MAX_REMEMBERED_URI && parsed.ok) {
      if (rememberedRequests >= MAX_PARSED_REQUESTS) {
        parsedRequests.clear();
        rememberedRequests = 0;
      }
      if (!byUri) parsedRequests.set(method, (byUri = new Map<string, GitPathResult>()));
      byUri.set(originalUri, parsed);
      rememberedRequests++;
    }
  }
  return parsed;
}

const refuse = (code: ErrorCode, message: string, headers: Record<string, string> = {}): AuthHookAnswer => ({
  status: 403,
  code,
  message,
  headers: { "X-Clarive-Reason": message, ...headers },
});

/**
 * The auth hook's decision: the same rules as /git/, answered as 204 (allowed), 401 or 403,
 * the only statuses nginx's auth_request understands, so "no such repository" and "throttled"
 * become 403. X-Clarive-Reason carries the one line for the proxy to show git.
 */
export function decideAuthHook(gitAccess: GitAccess, request: AuthHookRequest): MaybePromise<AuthHookAnswer> {
  const { originalUri, originalMethod } = request;
  if (!originalUri || originalUri.length > MAX_ORIGINAL_URI) return refuse("missing_original_uri", "X-Original-URI is required");
  if (originalMethod !== undefined && (originalMethod.length === 0 || originalMethod.length > MAX_ORIGINAL_METHOD)) {
    return refuse("invalid_original_method", "X-Original-Method must be an HTTP method");
  }
  const method =
    originalMethod === undefined
      ? "GET"
      : originalMethod === "GET" || originalMethod === "POST"
        ? originalMethod
        : originalMethod.toUpperCase();
  const parsed = parseOriginalRequest(originalUri, method);
  if (!parsed.ok) return refuse("not_a_git_request", parsed.message);
  const decision = gitAccess.authorize({
    authorization: request.authorization,
    project: parsed.target.project,
    repository: parsed.target.repository,
    write: parsed.target.write,
    ip: request.ip || null,
  });
  return andThen(decision, toAnswer);
}

function toAnswer(decision: GitAccessDecision): AuthHookAnswer {
  if (decision.ok) return { status: 204, user: decision.username };
  if (decision.status === 401) {
    return {
      status: 401,
      code: "git_unauthenticated",
      message: decision.message,
      headers: { "X-Clarive-Reason": decision.message, "WWW-Authenticate": BASIC_CHALLENGE },
    };
  }
  if (decision.status === 429) {
    return refuse("git_throttled", decision.message, { "Retry-After": String(decision.retryAfterSeconds ?? 60) });
  }
  return refuse(decision.status === 404 ? "repository_not_found" : "git_forbidden", decision.message);
}

/**
 * The request as the hook reads it: three headers from the raw list (first occurrence of
 * each), cheaper than Node building the whole lower-cased `req.headers` object on every call.
 */
function hookRequest(rawHeaders: string[], ip: string): AuthHookRequest {
  const found: AuthHookRequest = { ip };
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    // Lengths first: most headers are skipped without looking at their names.
    switch (name.length) {
      case 13:
        if (found.authorization === undefined && isHeader(name, "authorization")) found.authorization = value;
        break;
      case 14:
        if (found.originalUri === undefined && isHeader(name, "x-original-uri")) found.originalUri = value;
        break;
      case 17:
        if (found.originalMethod === undefined && isHeader(name, "x-original-method")) found.originalMethod = value;
        break;
      case 15:
        if (isHeader(name, "x-forwarded-for")) found.forwarded = true;
        break;
      case 9:
        if (isHeader(name, "x-real-ip")) found.forwarded = true;
        break;
    }
  }
  return found;
}

/** Header names are case-insensitive; proxies send them lower-case or as written. */
const isHeader = (name: string, lowerCase: string): boolean => name === lowerCase || name.toLowerCase() === lowerCase;

export const isAuthHookRequest = (req: IncomingMessage): boolean =>
  req.url === AUTH_HOOK_PATH || req.url?.startsWith(`${AUTH_HOOK_PATH}?`) === true;

export interface AuthHookDeps {
  gitAccess: GitAccess;
  logger: Logger;
  trustProxy: boolean;
}

/**
 * /api/v1/git/auth, answered straight from Node's HTTP layer for every method: a proxy asks it
 * before every git request, so it is the service's hottest path, and Koa's context and router
 * cost more than the decision itself (bench/README.md). The API documents it (routes/gitAuthHook.ts);
 * this is its only implementation, with the API's JSON errors and request log line.
 */
export function authHookListener(deps: AuthHookDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => answerAuthHook(deps, req, res);
}

/** Answers synchronously when the decision is (warm caches), else when it arrives. */
function answerAuthHook(deps: AuthHookDeps, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const method = req.method ?? "GET";
  const ip = clientAddress(req, deps.trustProxy);
  const done: Done = { deps, res, method, started, ip };
  if (method !== "GET" && method !== "HEAD") {
    sendJson(done, 405, { error: { code: "method_not_allowed", message: "The auth hook takes GET (or HEAD)" } }, { Allow: "GET, HEAD" });
    logHook(done, null, "method_not_allowed");
    return;
  }
  try {
    const request = hookRequest(req.rawHeaders, ip);
    if (request.forwarded && !deps.trustProxy) warnUntrustedProxy(deps.logger);
    const answer = decideAuthHook(deps.gitAccess, request);
    if (answer instanceof Promise) {
      answer.then(
        (settled) => sendAnswer(done, settled),
        (thrown: unknown) => answerFailure(done, thrown),
      );
    } else {
      sendAnswer(done, answer);
    }
  } catch (thrown) {
    answerFailure(done, thrown);
  }
}

let warnedUntrustedProxy = false;

/**
 * A proxy that forwards the client's address to a service that does not believe it makes
 * every git client share the proxy's address: one client's failed logins lock out all of them.
 */
function warnUntrustedProxy(logger: Logger): void {
  if (warnedUntrustedProxy) return;
  warnedUntrustedProxy = true;
  logger.warn(
    "the auth hook receives X-Forwarded-For or X-Real-IP but TRUST_PROXY is off: every git client counts as the proxy's address for login throttling; set TRUST_PROXY=true behind the proxy",
  );
}

interface Done {
  deps: AuthHookDeps;
  res: ServerResponse;
  method: string;
  started: number;
  ip: string;
}

function sendAnswer(done: Done, answer: AuthHookAnswer): void {
  try {
    if (answer.status === 204) {
      done.res.writeHead(204, { "X-Clarive-User": answer.user });
      done.res.end();
      logHook(done, answer.user, null);
    } else {
      sendJson(done, answer.status, { error: { code: answer.code, message: answer.message } }, answer.headers);
      logHook(done, null, answer.code);
    }
  } catch (thrown) {
    answerFailure(done, thrown);
  }
}

/** Anything thrown while deciding or answering: the API's JSON error, or a cut connection if it is too late for one. */
function answerFailure(done: Done, thrown: unknown): void {
  const unavailable = databaseUnavailable(thrown);
  if (unavailable && !done.res.headersSent) {
    // Fail closed with a 403 (nginx turns any other status into a bare 500) and the line git shows.
    const headers = { "X-Clarive-Reason": unavailable.message, "Retry-After": String(unavailable.retryAfterSeconds) };
    sendJson(done, 403, { error: { code: unavailable.code, message: unavailable.message } }, headers);
    logHook(done, null, unavailable.code);
    return;
  }
  const { status, body } = errorResponse(thrown);
  done.deps.logger.error({ err: thrown, method: done.method, path: AUTH_HOOK_PATH }, "unhandled error");
  if (done.res.headersSent) done.res.destroy();
  else sendJson(done, status, body);
  logHook(done, null, body.error.code);
}

// Logged once the answer is handed to the socket: these are a few bytes, no stream to wait for.
function logHook(done: Done, user: string | null, error: string | null): void {
  const { deps, res, method, started, ip } = done;
  logRequest(deps.logger, { method, path: AUTH_HOOK_PATH, status: res.statusCode, ms: millisecondsSince(started), ip, user, error });
}

function sendJson(done: Done, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  done.res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  done.res.end(done.method === "HEAD" ? undefined : text);
}
