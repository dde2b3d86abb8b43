import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { GitService as GitServiceName } from "../git/gitPath";
import type { GitAccessDecision } from "../gitAccess";
import { AUTH_HOOK_PATH } from "../http/authHook";
import { FastHistogram, type HistogramSeries } from "./fastHistogram";

/** What the service exposes to the metrics at scrape time (read then, never on the hot path). */
export interface MetricsSources {
  /** The change feed is trusted: decisions may be served from memory. */
  changeFeedTrusted(): boolean;
  /** Lookups of git-auth facts so far, answered from memory (hits) or the database (misses). */
  authCacheLookups(): { hits: number; misses: number };
  /** Requests being answered right now. */
  inFlight(): number;
  /** Pushes push protection has checked: from the request body before git, or by its hook in git's quarantine. */
  pushChecks(): { requestBody: number; quarantine: number; requestBodyMs: number; quarantineMs: number };
  /** Protocol v2's ls-refs requests so far: answered from memory (hits) or by git (misses). */
  refLists(): { hits: number; misses: number };
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

/** 0 for 1xx … 4 for 5xx (and anything out of range). */
const statusClassIndex = (status: number): number => {
  const index = Math.floor(status / 100) - 1;
  return index >= 0 && index < STATUS_CLASSES.length ? index : STATUS_CLASSES.length - 1;
};
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
 * The service's Prometheus metrics (GET /metrics). What every request and every git decision
 * records is plain additions (a histogram series bound once, counts in a map), handed to
 * prom-client at scrape time, as are the figures the service keeps anyway (cache lookups, feed
 * health): the auth hook is the service's hot path (bench/README.md).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly durations = new FastHistogram(
    "clarive_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by part of the service and status class",
    DURATION_BUCKETS,
  );
  /** By kind, then status class index. */
  private readonly durationSeries = new Map<RequestKind, HistogramSeries[]>();
  private readonly gitRequests: Counter<"service" | "status">;
  private readonly gitBytes: Counter<"service" | "direction">;
  private allowed = 0;
  /** Refusals by reason (a reason is refused or throttled, never both). */
  private readonly refusals = new Map<string, { throttled: boolean; count: number }>();
  private throttled = 0;
  private failedLogins = 0;
  private sources: MetricsSources | undefined;

  constructor() {
    const registers = [this.registry];
    this.registry.registerMetric(this.durations.asMetric());
    this.gitRequests = new Counter({
      name: "clarive_git_requests_total",
      help: "git smart-HTTP requests (/git/...), by git service and status class",
      labelNames: ["service", "status"],
      registers,
    });
    this.gitBytes = new Counter({
      name: "clarive_git_bytes_total",
      help: "Bytes of git requests the service served: received (request bodies) and sent (git's output)",
      labelNames: ["service", "direction"],
      registers,
    });
    this.registerScrapeTimeMetrics(registers);
    this.registerDecisionMetrics(registers);
  }

  /** Connects the figures read at scrape time; until then they read as zero. */
  watch(sources: MetricsSources): void {
    this.sources = sources;
  }

  private registerScrapeTimeMetrics(registers: Registry[]): void {
    const sources = (): MetricsSources | undefined => this.sources;
    hitsAndMisses(registers, {
      name: "clarive_git_auth_cache_lookups_total",
      help: "Lookups of git-auth facts (tokens, repositories, memberships, settings, throttles): hit = from memory, miss = from the database",
      label: "result",
      values: ["hit", "miss"],
      read: () => sources()?.authCacheLookups(),
    });
    hitsAndMisses(registers, {
      name: "clarive_git_ref_list_answers_total",
      help: "Protocol v2 ls-refs requests (every fetch and clone asks for the refs), by who answered: memory (git's earlier answer, its refs unchanged) or git",
      label: "from",
      values: ["memory", "git"],
      read: () => sources()?.refLists(),
    });
    new Counter({
      name: "clarive_push_protection_checks_total",
      help: "Pushes push protection checked, by where: request_body (proven clean before git started: no hook ran) or quarantine (by its pre-receive hook)",
      labelNames: ["where"],
      registers,
      collect() {
        this.reset();
        const checks = sources()?.pushChecks() ?? { requestBody: 0, quarantine: 0 };
        this.inc({ where: "request_body" }, checks.requestBody);
        this.inc({ where: "quarantine" }, checks.quarantine);
      },
    });
    new Counter({
      name: "clarive_push_protection_check_seconds_total",
      help: "Time push protection spent checking pushes, by where: request_body (reading small pushes' bodies in the service, proven clean or not, while git starts) or quarantine (its hook's checks)",
      labelNames: ["where"],
      registers,
      collect() {
        this.reset();
        const checks = sources()?.pushChecks() ?? { requestBodyMs: 0, quarantineMs: 0 };
        this.inc({ where: "request_body" }, checks.requestBodyMs / 1000);
        this.inc({ where: "quarantine" }, checks.quarantineMs / 1000);
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

  private registerDecisionMetrics(registers: Registry[]): void {
    const counts = () => ({ allowed: this.allowed, refusals: this.refusals, throttled: this.throttled, failedLogins: this.failedLogins });
    new Counter({
      name: "clarive_git_auth_decisions_total",
      help: "git access decisions (the /git/ routes and the auth hook), by outcome (allowed, refused, throttled) and reason",
      labelNames: ["outcome", "reason"],
      registers,
      collect() {
        this.reset();
        const { allowed, refusals } = counts();
        this.inc({ outcome: "allowed", reason: "ok" }, allowed);
        for (const [reason, { throttled, count }] of refusals) {
          this.inc({ outcome: throttled ? "throttled" : "refused", reason: reasonLabel(reason) }, count);
        }
      },
    });
    new Counter({
      name: "clarive_git_logins_throttled_total",
      help: "git logins refused because their address or username had too many failed logins (429)",
      registers,
      collect() {
        this.reset();
        this.inc(counts().throttled);
      },
    });
    new Counter({
      name: "clarive_git_failed_logins_total",
      help: "git logins with bad credentials (counted toward throttling)",
      registers,
      collect() {
        this.reset();
        this.inc(counts().failedLogins);
      },
    });
  }

  observeRequest(kind: RequestKind, url: string, status: number, seconds: number): void {
    const statusIndex = statusClassIndex(status);
    let byStatus = this.durationSeries.get(kind);
    if (!byStatus) this.durationSeries.set(kind, (byStatus = []));
    let series = byStatus[statusIndex];
    if (!series) byStatus[statusIndex] = series = this.durations.series({ kind, status: STATUS_CLASSES[statusIndex] as string });
    series.observe(seconds);
    if (kind === "git") this.gitRequests.inc({ service: gitServiceOf(url), status: STATUS_CLASSES[statusIndex] });
  }

  observeGitTraffic(gitService: GitServiceName, received: number, sent: number): void {
    const service = gitService === "git-upload-pack" ? "upload-pack" : "receive-pack";
    this.gitBytes.inc({ service, direction: "received" }, received);
    this.gitBytes.inc({ service, direction: "sent" }, sent);
  }

  observeDecision(decision: GitAccessDecision): void {
    if (decision.ok) {
      this.allowed++;
      return;
    }
    const throttled = decision.status === 429;
    const known = this.refusals.get(decision.reason);
    if (known) known.count++;
    else this.refusals.set(decision.reason, { throttled, count: 1 });
    if (throttled) this.throttled++;
    if (decision.failedLogin) this.failedLogins++;
  }

  /** The exposition text: this service's metrics, then the process's. */
  async render(): Promise<{ contentType: string; body: string }> {
    const [own, processWide] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return { contentType: this.registry.contentType, body: `${own}\n${processWide}` };
  }
}

/** A counter of a running total of hits and misses, read whole at each scrape (zero until its source is connected). */
function hitsAndMisses(
  registers: Registry[],
  options: {
    name: string;
    help: string;
    label: string;
    values: [hit: string, miss: string];
    read: () => { hits: number; misses: number } | undefined;
  },
): void {
  const { name, help, label, values, read } = options;
  new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      this.reset();
      const now = read() ?? { hits: 0, misses: 0 };
      this.inc({ [label]: values[0] }, now.hits);
      this.inc({ [label]: values[1] }, now.misses);
    },
  });
}
