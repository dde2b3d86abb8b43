import assert from "node:assert/strict";
import { Histogram, Registry } from "prom-client";
import { FastHistogram } from "../../server/src/metrics/fastHistogram";

describe("the hot-path histogram (metrics/fastHistogram.ts)", () => {
  it("exposes exactly what prom-client's own Histogram exposes for the same observations", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const values = [0, 0.001, 0.0010001, 0.05, 0.1, 0.5, 1, 2, 300, 0.0005];
    const theirs = new Registry();
    const reference = new Histogram({ name: "d_seconds", help: "h", labelNames: ["kind", "status"], buckets, registers: [theirs] });
    const ours = new Registry();
    const fast = new FastHistogram("d_seconds", "h", buckets);
    ours.registerMetric(fast.asMetric());
    for (const [i, value] of values.entries()) {
      const labels = { kind: i % 2 ? "git" : "api", status: "2xx" };
      reference.observe(labels, value);
      fast.series(labels).observe(value);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    ours.resetMetrics();
    theirs.resetMetrics();
    assert.match(await ours.metrics(), /^d_seconds_count\{kind="git",status="2xx"\} 0$/m, "reset keeps the series at zero");
  });
});
