import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { GitService as GitServiceName } from "../git/gitPath";
import type { GitAccessDecision } from "../gitAccess";
import { AUTH_HOOK_PATH } from "../http/authHook";

/** What the service exposes to the metrics at scrape time (read then, never on the hot path). */
export interface MetricsSources {
  /** The change feed is trusted: decisions may be served from memory. */
  changeFeedTrusted(): boolean;
  /** Lookups of git-auth facts so far, answered from memory (hits) or the database (misses). */
  authCacheLookups(): { hits: number; misses: number };
  /** Requests being answered right now. */
  inFlight(): number;
}

export type RequestKind = "git" | "auth_hook" | "api" | "health" | "metrics" | "other";
type GitService = "upload-pack" | "receive-pack" | "other";

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** Which part of the service a request went to, from its raw URL: cheap, it runs for every request. */
export function requestKind(url: string): RequestKind {
  if (url.startsWith("/git/")) return "git";
  if (url.startsWith("/api/")) return url === AUTH_HOOK_PATH || url.startsWith(`${AUTH_HOOK_PATH}?`) ? "auth_hook" : "api";
  if (url === "/healthz" || url === "/readyz") return "health";
  if (url === "/metrics") return "metrics";
  return "other";
}

/** The git service a /git/ URL is part of: a push's info/refs counts as receive-pack. */
export function gitServiceOf(url: string): GitService {
  if (url.includes("git-upload-pack")) return "upload-pack";
  if (url.includes("git-receive-pack")) return "receive-pack";
  return "other";
}

const statusClass = (status: number): string => STATUS_CLASSES[Math.floor(status / 100) - 1] ?? "5xx";
/** Refusal reasons are a fixed set of phrases (gitAccess/decision.ts): label values as snake_case. */
const reasonLabel = (reason: string): string => reason.replace(/[^a-z0-9]+/gi, "_").toLowerCase();

let processRegistry: Registry | undefined;

/**
 * Node's own figures (CPU, memory, event-loop delay, GC) describe the process, not a server:
 * collected once per process even when tests start many servers in it.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The service's Prometheus metrics (GET /metrics). Hot-path observations use label children
 * bound once, so an auth-hook request costs a few hundred nanoseconds more (bench/README.md);
 * figures the service already keeps (cache lookups, feed health) are read at scrape time.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly durations: Histogram<"kind" | "status">;
  private readonly durationChildren = new Map<string, Histogram.Internal<"kind" | "status">>();
  private readonly gitRequests: Counter<"service" | "status">;
  private readonly gitBytes: Counter<"service" | "direction">;
  private readonly decisions: Counter<"outcome" | "reason">;
  private readonly decisionChildren = new Map<string, Counter.Internal>();
  private readonly throttled: Counter.Internal;
  private readonly failedLogins: Counter.Internal;
  private sources: MetricsSources | undefined;

  constructor() {
    const registers = [this.registry];
    this.durations = new Histogram({
      name: "clarive_http_request_duration_seconds",
      help: "Time from a request's arrival to the end of its response, by part of the service and status class",
      labelNames: ["kind", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.gitRequests = new Counter({
      name: "clarive_git_requests_total",
      help: "git smart-HTTP requests (/git/...), by git service and status class",
      labelNames: ["service", "status"],
      registers,
    });
    this.gitBytes = new Counter({
      name: "clarive_git_bytes_total",
      help: "Bytes of git requests served by git http-backend: received (request bodies) and sent (git's output)",
      labelNames: ["service", "direction"],
      registers,
    });
    this.decisions = new Counter({
      name: "clarive_git_auth_decisions_total",
      help: "git access decisions (the /git/ routes and the auth hook), by outcome (allowed, refused, throttled) and reason",
      labelNames: ["outcome", "reason"],
      registers,
    });
    this.throttled = new Counter({
      name: "clarive_git_logins_throttled_total",
      help: "git logins refused because their address or username had too many failed logins (429)",
      registers,
    }).labels();
    this.failedLogins = new Counter({
      name: "clarive_git_failed_logins_total",
      help: "git logins with bad credentials (counted toward throttling)",
      registers,
    }).labels();
    this.registerScrapeTimeMetrics(registers);
  }

  /** Connects the figures read at scrape time; until then they read as zero. */
  watch(sources: MetricsSources): void {
    this.sources = sources;
  }

  private registerScrapeTimeMetrics(registers: Registry[]): void {
    const sources = (): MetricsSources | undefined => this.sources;
    const reported = { hits: 0, misses: 0 };
    new Counter({
      name: "clarive_git_auth_cache_lookups_total",
      help: "Lookups of git-auth facts (tokens, repositories, memberships, settings, throttles): hit = from memory, miss = from the database",
      labelNames: ["result"],
      registers,
      collect() {
        const now = sources()?.authCacheLookups() ?? reported;
        this.inc({ result: "hit" }, now.hits - reported.hits);
        this.inc({ result: "miss" }, now.misses - reported.misses);
        reported.hits = now.hits;
        reported.misses = now.misses;
      },
    });
    new Gauge({
      name: "clarive_change_feed_trusted",
      help: "1 while the change feed (LISTEN connection and heartbeat) is healthy and decisions may come from memory, else 0",
      registers,
      collect() {
        this.set(sources()?.changeFeedTrusted() ? 1 : 0);
      },
    });
    new Gauge({
      name: "clarive_http_requests_in_flight",
      help: "Requests being answered (a graceful shutdown waits for them)",
      registers,
      collect() {
        this.set(sources()?.inFlight() ?? 0);
      },
    });
  }

  observeRequest(kind: RequestKind, url: string, status: number, seconds: number): void {
    const statusLabel = statusClass(status);
    const key = `${kind} ${statusLabel}`;
    let child = this.durationChildren.get(key);
    if (!child) this.durationChildren.set(key, (child = this.durations.labels(kind, statusLabel)));
    child.observe(seconds);
    if (kind === "git") this.gitRequests.inc({ service: gitServiceOf(url), status: statusLabel });
  }

  observeGitTraffic(gitService: GitServiceName, received: number, sent: number): void {
    const service = gitService === "git-upload-pack" ? "upload-pack" : "receive-pack";
    this.gitBytes.inc({ service, direction: "received" }, received);
    this.gitBytes.inc({ service, direction: "sent" }, sent);
  }

  observeDecision(decision: GitAccessDecision): void {
    const outcome = decision.ok ? "allowed" : decision.status === 429 ? "throttled" : "refused";
    const reason = decision.ok ? "ok" : decision.reason;
    const key = `${outcome} ${reason}`;
    let child = this.decisionChildren.get(key);
    if (!child) this.decisionChildren.set(key, (child = this.decisions.labels(outcome, reasonLabel(reason))));
    child.inc();
    if (decision.ok) return;
    if (decision.status === 429) this.throttled.inc();
    if (decision.failedLogin) this.failedLogins.inc();
  }

  /** The exposition text: this service's metrics, then the process's. */
  async render(): Promise<{ contentType: string; body: string }> {
    const [own, processWide] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return { contentType: this.registry.contentType, body: `${own}\n${processWide}` };
  }
}
