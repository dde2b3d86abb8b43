import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "./config";

const FLUSH_INTERVAL_MS = 500;

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

/**
 * JSON lines on stdout, buffered: under load (a proxy calls the auth hook before every git
 * request, one line each) a write per line costs more than the line itself, so lines go out
 * in 4 KiB batches, and at least every half second when traffic is light. pino flushes what
 * is pending when the process exits or is signalled. Tests pass their own destination.
 */
export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  let target = destination;
  if (!target) {
    const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => stdout.flush(), FLUSH_INTERVAL_MS).unref();
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
