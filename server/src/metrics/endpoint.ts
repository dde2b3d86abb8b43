import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { methodNotAllowed } from "../http/health";
import type { ServiceMetrics } from "./index";

export const METRICS_PATH = "/metrics";

/** GET /metrics: the Prometheus exposition text. Unauthenticated: keep it off public networks (README, Operations). */
export function metricsListener(metrics: ServiceMetrics, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res);
    metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
        res.end(method === "HEAD" ? undefined : body);
      },
      (error: unknown) => {
        logger.error({ err: error }, "could not collect metrics");
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("could not collect metrics\n");
      },
    );
  };
}
