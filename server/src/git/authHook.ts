import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { errorResponse } from "../middleware/errors";
import { logRequest, millisecondsSince } from "../middleware/requestLog";
import { andThen, type MaybePromise } from "../lib/maybeAsync";
import { clientAddress } from "../http/clientAddress";
import type { GitAccessDecision, GitAuthenticator } from "../services/gitAuth";
import { parseGitRequest, type GitPathResult } from "./gitPath";
import { BASIC_CHALLENGE } from "./routes";

export const AUTH_HOOK_PATH = "/api/v1/git/auth";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
const MAX_ORIGINAL_URI = 8192;
const MAX_ORIGINAL_METHOD = 16;

export interface AuthHookRequest {
  authorization?: string | undefined;
  originalUri?: string | undefined;
  originalMethod?: string | undefined;
  realIp?: string | undefined;
  /** The peer as the HTTP layer sees it (honouring TRUST_PROXY). */
  peerIp: string;
}

export type AuthHookAnswer =
  | { status: 204; user: string }
  | { status: 401 | 403; code: string; message: string; headers: Record<string, string> };

const MAX_PARSED_REQUESTS = 10_000;
const MAX_REMEMBERED_URI = 512;
/** Parsed X-Original-URIs by method: a lookup without building a combined key per request. */
const parsedRequests = new Map<string, Map<string, GitPathResult>>();
let rememberedRequests = 0;

/**
 * parseGitRequest for X-Original-URI, remembered: a proxy asks about the same few URLs over
 * and over (every clone asks about the same two), and parsing is pure.
 */
function parseOriginalRequest(originalUri: string, method: string): GitPathResult {
  let byUri = parsedRequests.get(method);
  let parsed = byUri?.get(originalUri);
  if (!parsed) {
    const uri = new URL(originalUri, "http://hook.invalid");
    parsed = parseGitRequest(uri.pathname, method, uri.searchParams.get("service") ?? undefined);
    // Only short URIs of real methods are remembered, so junk cannot make the memo large.
    if (originalUri.length <= MAX_REMEMBERED_URI && parsed.ok) {
      if (rememberedRequests >= MAX_PARSED_REQUESTS) {
        parsedRequests.clear();
        rememberedRequests = 0;
      }
      if (!byUri) parsedRequests.set(method, (byUri = new Map()));
      byUri.set(originalUri, parsed);
      rememberedRequests++;
    }
  }
  return parsed;
}

const refuse = (code: string, message: string, headers: Record<string, string> = {}): AuthHookAnswer => ({
  status: 403,
  code,
  message,
  headers: { "X-Clarive-Reason": message, ...headers },
});

/** The proxy's X-Real-IP names the git client, but is believed only from a proxy on this host. */
function clientIp(peer: string, realIp: string | undefined): string | null {
  return realIp && LOOPBACK.test(peer) ? realIp : peer || null;
}

/**
 * The auth hook's decision: the same rules as /git/, answered as 204 (allowed), 401 or 403,
 * the only statuses nginx's auth_request understands, so "no such repository" and "throttled"
 * become 403. X-Clarive-Reason carries the one line for the proxy to show git.
 */
export function decideAuthHook(gitAuth: GitAuthenticator, request: AuthHookRequest): MaybePromise<AuthHookAnswer> {
  const { originalUri, originalMethod } = request;
  if (!originalUri || originalUri.length > MAX_ORIGINAL_URI) return refuse("missing_original_uri", "X-Original-URI is required");
  if (originalMethod !== undefined && (originalMethod.length === 0 || originalMethod.length > MAX_ORIGINAL_METHOD)) {
    return refuse("invalid_original_method", "X-Original-Method must be an HTTP method");
  }
  const method = originalMethod === undefined ? "GET" : originalMethod === "GET" || originalMethod === "POST" ? originalMethod : originalMethod.toUpperCase();
  const parsed = parseOriginalRequest(originalUri, method);
  if (!parsed.ok) return refuse("not_a_git_request", parsed.message);
  const decision = gitAuth.authorize({
    authorization: request.authorization,
    project: parsed.target.project,
    repository: parsed.target.repository,
    write: parsed.target.write,
    ip: clientIp(request.peerIp, request.realIp),
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
 * The request as the hook reads it: four headers from the raw list (first occurrence of
 * each), cheaper than Node building the whole lower-cased `req.headers` object on every call.
 */
function hookRequest(rawHeaders: string[], peerIp: string): AuthHookRequest {
  const found: AuthHookRequest = { peerIp };
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
      case 9:
        if (found.realIp === undefined && isHeader(name, "x-real-ip")) found.realIp = value;
        break;
    }
  }
  return found;
}

/** Header names are case-insensitive; proxies send them lower-case or as written. */
const isHeader = (name: string, lowerCase: string): boolean => name === lowerCase || name.toLowerCase() === lowerCase;

export const isAuthHookRequest = (req: IncomingMessage): boolean =>
  req.method === "GET" && (req.url === AUTH_HOOK_PATH || req.url?.startsWith(`${AUTH_HOOK_PATH}?`) === true);

/**
 * GET /api/v1/git/auth answered straight from Node's HTTP layer. A proxy asks it before every
 * git request, so it is the service's hottest path; Koa's context, the router and the API
 * wrapper cost more than the decision itself (bench/README.md). Same decision, same JSON
 * error shape and same request log line as the Koa route that documents it (and serves HEAD).
 */
export function authHookListener(deps: HookDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => answerAuthHook(deps, req, res);
}

interface HookDeps {
  gitAuth: GitAuthenticator;
  logger: Logger;
  trustProxy: boolean;
}

/** Answers synchronously when the decision is (warm caches), else when it arrives. */
function answerAuthHook(deps: HookDeps, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const ip = clientAddress(req, deps.trustProxy);
  try {
    const answer = decideAuthHook(deps.gitAuth, hookRequest(req.rawHeaders, ip));
    if (answer instanceof Promise) {
      answer
        .then((settled) => sendAnswer(deps, res, started, ip, settled))
        .catch((thrown: unknown) => answerFailure(deps, res, started, ip, thrown));
    } else {
      sendAnswer(deps, res, started, ip, answer);
    }
  } catch (thrown) {
    answerFailure(deps, res, started, ip, thrown);
  }
}

function sendAnswer(deps: HookDeps, res: ServerResponse, started: number, ip: string, answer: AuthHookAnswer): void {
  if (answer.status === 204) {
    res.writeHead(204, { "X-Clarive-User": answer.user });
    res.end();
  } else {
    sendJson(res, answer.status, { error: { code: answer.code, message: answer.message } }, answer.headers);
  }
  logHook(deps, res, started, ip, answer.status === 204 ? answer.user : null, answer.status === 204 ? null : answer.code);
}

/** Anything thrown while deciding or answering: the API's JSON error, or a cut connection if it is too late for one. */
function answerFailure(deps: HookDeps, res: ServerResponse, started: number, ip: string, thrown: unknown): void {
  const { status, body } = errorResponse(thrown);
  deps.logger.error({ err: thrown, method: "GET", path: AUTH_HOOK_PATH }, "unhandled error");
  if (res.headersSent) res.destroy();
  else sendJson(res, status, body);
  logHook(deps, res, started, ip, null, body.error.code);
}

// Logged once the answer is handed to the socket: these are a few bytes, no stream to wait for.
function logHook(deps: HookDeps, res: ServerResponse, started: number, ip: string, user: string | null, error: string | null): void {
  logRequest(deps.logger, { method: "GET", path: AUTH_HOOK_PATH, status: res.statusCode, ms: millisecondsSince(started), ip, user, error });
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
