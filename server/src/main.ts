import { ConfigError, parseConfig } from "./config";
import { createLogger } from "./logger";
import { startServer } from "./server";

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config);
  // Only with TLS: elsewhere SIGHUP keeps its default meaning (the terminal went away: stop).
  // Installed before the (slow) start, so a renewal hook firing during it does not kill the
  // service: the files are read at start anyway, and again for a SIGHUP once running.
  const reload: { tls?: () => void } = {};
  if (config.tls) {
    process.on("SIGHUP", () => {
      logger.info({ signal: "SIGHUP" }, "reloading the TLS certificate");
      reload.tls?.();
    });
  }
  let running;
  try {
    running = await startServer(config, logger);
  } catch (error) {
    // An unreadable or broken certificate: the same one line as any other bad variable.
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  logger.info(
    { url: running.url, database: running.database.kind, reposDir: config.reposDir },
    `Clarive Git PATs listening on ${running.url} (API docs: ${running.url}/docs)`,
  );
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  const started = running;
  reload.tls = () => void started.reloadTls();
}

main().catch((error: unknown) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
