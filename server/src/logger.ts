import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "./config";

const FLUSH_INTERVAL_MS = 500;
/** Characters gathered before a batch is handed to stdout's writer. */
const BATCH_CHARS = 16_384;

/** Where each logger made by createLogger writes, for the request line's own formatter. */
const destinations = new WeakMap<Logger, DestinationStream>();

let isoMillisecond = 0;
let isoString = "";

/**
 * `new Date().toISOString()`, computed once per millisecond: under load many lines share a
 * millisecond, and formatting the date costs as much as the rest of the request line.
 */
export function isoTimeNow(): string {
  const now = Date.now();
  if (now !== isoMillisecond) {
    isoMillisecond = now;
    isoString = new Date(now).toISOString();
  }
  return isoString;
}

type StdoutWriter = ReturnType<typeof pino.destination>;

/**
 * Lines gathered in a list and handed to stdout's writer (pino's SonicBoom) as one string per
 * batch. SonicBoom's own batching (`minLength`) measures its whole pending string on every
 * write, which cost 2.4 µs a line against 0.3 µs for this (bench/README.md, tenth session):
 * a tenth of the auth hook's throughput, at one line per request.
 */
class BatchedLines implements DestinationStream {
  private pending: string[] = [];
  private pendingChars = 0;

  constructor(private readonly writer: StdoutWriter) {}

  write(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= BATCH_CHARS) this.handOver();
  }

  /** Writes what is gathered, without waiting. */
  flush(callback?: (error?: Error) => void): void {
    this.handOver();
    this.writer.flush(callback);
  }

  /** Writes what is gathered before returning: for the process's exit, when no callback runs any more. */
  flushSync(): void {
    this.handOver();
    this.writer.flushSync();
  }

  private handOver(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.writer.write(batch);
  }
}

/**
 * JSON lines on stdout, buffered: under load (a proxy calls the auth hook before every git
 * request, one line each) a write per line costs more than the line itself, so lines go out
 * in 16 KiB batches, and at least every half second when traffic is light. What is pending is
 * written when the process exits (a stop by signal exits through process.exit). Tests pass
 * their own destination.
 */
export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  let target = destination;
  if (!target) {
    const stdout = new BatchedLines(pino.destination({ dest: 1, sync: false }));
    setInterval(() => stdout.flush(), FLUSH_INTERVAL_MS).unref();
    process.on("exit", () => stdout.flushSync());
    target = stdout;
  }
  const logger = pino({ level: config.logLevel, base: undefined, timestamp: () => `,"time":"${isoTimeNow()}"` }, target);
  destinations.set(logger, target);
  return logger;
}

/**
 * The destination of a logger made by createLogger, whose line shape (no base fields, ISO
 * time) is known, so a hot path may write its line there itself; undefined for any other
 * logger (a child, or one a caller built), which must be logged through pino.
 */
export function ownDestination(logger: Logger): DestinationStream | undefined {
  return destinations.get(logger);
}
