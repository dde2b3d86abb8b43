import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { DatabaseState } from "../db/readiness";

export const HEALTH_PATH = "/healthz";
export const READY_PATH = "/readyz";

/** A readiness check that has not answered by then counts as "not ready" (a hung database). */
const READY_CHECK_TIMEOUT_MS = 2000;

export interface ReadinessSources {
  database(): Promise<DatabaseState>;
  /** The change feed is healthy (its LISTEN connection delivers the heartbeat). */
  changeFeedTrusted(): boolean;
  /** Shutting down: the load balancer must stop sending requests. */
  draining(): boolean;
}

type NotReady = "draining" | "database_unreachable" | "database_not_migrated" | "change_feed_unhealthy" | "check_timed_out";

export const isHealthRequest = (url: string | undefined): boolean => url === HEALTH_PATH || url === READY_PATH;

/**
 * GET /healthz (the process answers) and GET /readyz (it can serve: database reachable and
 * migrated, change feed healthy, not shutting down), for load balancers and orchestrators.
 * Outside /api/v1, unauthenticated, and so deliberately terse: the body says "ok" or
 * "unavailable", never why; the reason goes to the log, once per change of state.
 */
export function healthListener(sources: ReadinessSources, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  let lastProblem: NotReady | null = null;
  let checking: Promise<NotReady | null> | undefined;

  const check = async (): Promise<NotReady | null> => {
    if (sources.draining()) return "draining";
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"check_timed_out">(
      (resolve) => (timer = setTimeout(() => resolve("check_timed_out"), READY_CHECK_TIMEOUT_MS)),
    );
    const database = await Promise.race([sources.database(), timedOut]).finally(() => clearTimeout(timer));
    if (database === "check_timed_out") return database;
    if (database === "unreachable") return "database_unreachable";
    if (database === "not_migrated") return "database_not_migrated";
    return sources.changeFeedTrusted() ? null : "change_feed_unhealthy";
  };

  // Probes from several load balancers at once share one database round trip.
  const readiness = (): Promise<NotReady | null> => {
    checking ??= check().finally(() => (checking = undefined));
    return checking;
  };

  const note = (problem: NotReady | null): void => {
    if (problem === lastProblem) return;
    lastProblem = problem;
    if (problem) logger.warn({ reason: problem }, "not ready: /readyz answers 503");
    else logger.info("ready: /readyz answers 200");
  };

  return (req, res) => {
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") {
      methodNotAllowed(res);
      return;
    }
    if (req.url === HEALTH_PATH) {
      send(res, method, 200, "ok");
      return;
    }
    readiness().then(
      (problem) => {
        note(problem);
        send(res, method, problem ? 503 : 200, problem ? "unavailable" : "ok", problem ? { "Retry-After": "5" } : {});
      },
      () => send(res, method, 503, "unavailable", { "Retry-After": "5" }),
    );
  };
}

function send(res: ServerResponse, method: string, status: number, state: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const body = JSON.stringify({ status: state });
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(method === "HEAD" ? undefined : body);
}

/** Anything but GET and HEAD on /healthz, /readyz and /metrics: the API's error shape. */
export function methodNotAllowed(res: ServerResponse): void {
  const body = JSON.stringify({ error: { code: "method_not_allowed", message: "Use GET (or HEAD)" } });
  res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
