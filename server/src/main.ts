import { ConfigError, StartupError, parseConfig } from "./config";
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
    // A busy port, an unreachable database: one line, and nothing was created (no admin password lost).
    if (error instanceof StartupError) {
      process.stderr.write(`Failed to start: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  logger.info(
    { url: running.url, database: running.database.kind, reposDir: config.reposDir, metricsUrl: running.metricsUrl },
    `Clarive Git PATs listening on ${running.url} (API docs: ${running.url}/docs)`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: the operator does not want to wait for the drain.
      logger.warn({ signal }, "stopping now, without waiting for running requests");
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { signal, timeoutMs: config.shutdownTimeoutMs },
      "shutting down: no new connections; running clones and pushes may finish (SHUTDOWN_TIMEOUT)",
    );
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "could not shut down cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const started = running;
  reload.tls = () => void started.reloadTls();
}

main().catch((error: unknown) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
