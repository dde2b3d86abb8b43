import pino, { type Logger } from "pino";
import type { Config } from "./config";

export const createLogger = (config: Pick<Config, "logLevel">): Logger =>
  pino({ level: config.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
