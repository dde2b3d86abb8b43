import pino, { type Logger } from "pino";
import type { Config } from "./config";

const FLUSH_INTERVAL_MS = 500;

/**
 * JSON lines on stdout, buffered: under load (a proxy calls the auth hook before every git
 * request, one line each) a write per line costs more than the line itself, so lines go out
 * in 4 KiB batches, and at least every half second when traffic is light. pino flushes what
 * is pending when the process exits or is signalled.
 */
export function createLogger(config: Pick<Config, "logLevel">): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_INTERVAL_MS).unref();
  return pino({ level: config.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
