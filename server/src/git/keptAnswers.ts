import type { ServerResponse } from "node:http";
import type { GitRun } from "./processHost";

// What git http-backend answers with (http-backend.c, hdr_nocache): git's answers are never cached.
const NO_CACHE = [
  "Expires",
  "Fri, 01 Jan 1980 00:00:00 GMT",
  "Pragma",
  "no-cache",
  "Cache-Control",
  "no-cache, max-age=0, must-revalidate",
];

/** The headers of every answer of git's: no proxy or browser may keep it. */
export function setNoCacheHeaders(res: ServerResponse): void {
  for (let i = 0; i + 1 < NO_CACHE.length; i += 2) res.setHeader(NO_CACHE[i] as string, NO_CACHE[i + 1] as string);
}

export interface KeptAnswer {
  res: ServerResponse;
  /** git-upload-pack or git-receive-pack. */
  service: string;
  kind: "advertisement" | "result";
  bytes: Buffer;
  /** Told the request body's bytes and the answer's once the response is over (GET /metrics). */
  onTraffic?: ((received: number, sent: number) => void) | undefined;
  received: number;
}

/**
 * An answer git gave before and the service kept (the v2 advertisement, a list of refs), with the
 * headers git's answer would have. Resolves when the response is over.
 */
export function answerFromMemory(answer: KeptAnswer): Promise<void> {
  const { res, bytes } = answer;
  return new Promise((resolve) => {
    res.once("close", () => {
      answer.onTraffic?.(answer.received, res.writableFinished ? bytes.length : 0);
      resolve();
    });
    res.statusCode = 200;
    setNoCacheHeaders(res);
    res.setHeader("Content-Type", `application/x-${answer.service}-${answer.kind}`);
    res.end(bytes);
  });
}

/** Collects git's answer as it goes out, and hands it to `keep` once git has exited cleanly (not when longer than maxBytes). */
export function collectAnswer(run: GitRun, maxBytes: number, keep: (bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  run.stream.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  });
  run.stream.once("end", () => {
    void run.exited.then(({ code }) => {
      if (code === 0 && size <= maxBytes) keep(Buffer.concat(chunks));
    });
  });
}
