import type { Api } from "../http/api";
import { HEALTH_PATH, READY_PATH } from "../http/health";

const RETRY_AFTER = { "Retry-After": "Seconds before asking again (5)" };
const JSON_TYPE = "application/json";
const state = (values: string[]) => ({
  type: "object",
  required: ["status"],
  properties: { status: { type: "string", enum: values, description: "The state, and nothing that would help an attacker" } },
});

/**
 * /healthz, /readyz and /metrics are answered before Koa (http/health.ts, metrics/endpoint.ts);
 * only documented here, so that the one API document lists everything the service answers.
 */
export function documentOperationsEndpoints(api: Api, metricsOnMainPort: boolean): void {
  api.documentOutsideApi({
    path: HEALTH_PATH,
    operationId: "checkHealth",
    summary: "Liveness: the process answers",
    description:
      "For an orchestrator's liveness probe: 200 whenever the process can answer, even while it starts or its database is out of reach " +
      "(restarting it would not help). HEAD works too. No authentication, and no detail in the body.",
    responses: { 200: { description: "The process is up", mediaType: JSON_TYPE, schema: state(["ok"]), example: { status: "ok" } } },
  });
  api.documentOutsideApi({
    path: READY_PATH,
    operationId: "checkReadiness",
    summary: "Readiness: the service can serve requests",
    description:
      "For a load balancer: 200 while the database is reachable and migrated, the change feed (which keeps every instance's " +
      "decisions fresh) is healthy and the service is not shutting down; 503 otherwise. The body never says why: the reason is in " +
      "the service's log, once per change of state. A check that takes over 2 s counts as not ready. HEAD works too.",
    responses: {
      200: { description: "Ready", mediaType: JSON_TYPE, schema: state(["ok"]), example: { status: "ok" } },
      503: {
        description: "Not ready: take this instance out of rotation",
        mediaType: JSON_TYPE,
        schema: state(["unavailable"]),
        example: { status: "unavailable" },
        headers: RETRY_AFTER,
      },
    },
  });
  api.documentOutsideApi({
    path: "/metrics",
    operationId: "getMetrics",
    summary: "Prometheus metrics",
    description:
      "Prometheus text format (`prom-client`): git access decisions by outcome and reason, git requests and bytes by service, request " +
      "durations, auth-cache hits and misses, change-feed health, throttled logins, push-protection checks, and the process's own figures. " +
      (metricsOnMainPort
        ? "Served on the service's port; set `METRICS_PORT` (and `METRICS_HOST`) to move it to a listener of its own. "
        : "This service serves it only on its metrics listener (`METRICS_PORT`), not on this port. ") +
      "No authentication: it names no token, user or repository, but keep it off networks clients reach (README, Operations).",
    responses: {
      200: {
        description: "The metrics",
        mediaType: "text/plain",
        schema: { type: "string" },
        example: '# TYPE clarive_git_auth_decisions_total counter\nclarive_git_auth_decisions_total{outcome="allowed",reason="ok"} 42\n',
      },
    },
  });
}
