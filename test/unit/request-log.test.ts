import assert from "node:assert/strict";
import type pino from "pino";
import { createLogger } from "../../server/src/logger";
import { formatRequestLine, logRequest, type RequestLogEntry } from "../../server/src/middleware/requestLog";

const ENTRIES: RequestLogEntry[] = [
  { method: "GET", path: "/api/v1/git/auth", status: 204, ms: 0.125, ip: "127.0.0.1", user: "admin", error: null },
  { method: "GET", path: "/api/v1/git/auth", status: 401, ms: 12, ip: "::1", user: null, error: "git_unauthenticated" },
  // A forwarded address is client text: quotes, backslashes, control and non-ASCII characters.
  {
    method: "POST",
    path: "/git/a/b.git/git-receive-pack",
    status: 200,
    ms: 1234.5,
    ip: 'x"\\\n\u0001é\ud800',
    user: "ünï",
    error: null,
    aborted: true,
  },
];

function capture(level: "info" | "silent" = "info"): { lines: string[]; logger: pino.Logger } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ logLevel: level }, { write: (line: string) => void lines.push(line) }) };
}

describe("request log line", () => {
  it("is byte for byte the line pino writes for the same entry", () => {
    const { lines, logger } = capture();
    for (const entry of ENTRIES) {
      logger.info(entry);
      const viaPino = lines.pop() as string;
      const { time } = JSON.parse(viaPino) as { time: string };
      assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(formatRequestLine(entry, time), viaPino);
    }
  });

  it("is written through the logger's destination only when info is enabled", () => {
    const on = capture("info");
    logRequest(on.logger, ENTRIES[0] as RequestLogEntry);
    assert.equal(on.lines.length, 1);
    assert.deepEqual({ ...JSON.parse(on.lines[0] as string), time: undefined }, { level: 30, time: undefined, ...ENTRIES[0] });
    const off = capture("silent");
    logRequest(off.logger, ENTRIES[0] as RequestLogEntry);
    assert.equal(off.lines.length, 0);
  });

  it("goes through pino for a logger it does not know the shape of", () => {
    const lines: string[] = [];
    const child = createLogger({ logLevel: "info" }, { write: (line: string) => void lines.push(line) }).child({ instance: 7 });
    logRequest(child, ENTRIES[1] as RequestLogEntry);
    assert.equal((JSON.parse(lines[0] as string) as { instance: number }).instance, 7);
  });
});
