import type http from "node:http";
import type https from "node:https";
import { requestKind, type ServiceMetrics } from "../metrics";

type Server = http.Server | https.Server;

/**
 * Counts the requests being answered (every listener's, the auth hook's included), times each
 * for the metrics, and drains them on shutdown: no new connection is accepted, running
 * requests (a clone, a push) finish, and each connection closes once its response is over.
 */
export class RequestTracker {
  private running = 0;
  private isDraining = false;
  private onIdle: (() => void) | undefined;

  constructor(private readonly metrics: ServiceMetrics) {}

  get inFlight(): number {
    return this.running;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** Called first for every request, before any handler writes. */
  track(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const url = req.url ?? "";
    this.running++;
    // Answered, then the connection closes: the client opens its next one elsewhere.
    if (this.isDraining) res.setHeader("Connection", "close");
    res.once("close", () => {
      this.running--;
      this.metrics.observeRequest(requestKind(url), url, res.statusCode, (performance.now() - started) / 1000);
      if (this.running === 0) this.onIdle?.();
    });
  }

  /**
   * Stops accepting connections and waits until no request is running, at most `timeoutMs`.
   * Resolves with the number of requests still running then (which the caller cuts).
   */
  async drain(servers: Server[], timeoutMs: number): Promise<number> {
    this.isDraining = true;
    for (const server of servers) if (server.listening) server.close();
    // Keep-alive connections between requests hold nothing: closed now, and again as more become idle.
    const closeIdle = () => {
      for (const server of servers) server.closeIdleConnections();
    };
    closeIdle();
    const sweep = setInterval(closeIdle, 100);
    try {
      if (this.running > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          this.onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      clearInterval(sweep);
      this.onIdle = undefined;
    }
    return this.running;
  }
}
