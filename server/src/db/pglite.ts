import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { PGlite, type ParserOptions } from "@electric-sql/pglite";

const INIT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "pgliteInitChild.mjs");

/**
 * Postgres's defaults (from initdb's postgresql.conf) size it for a server with many
 * connections. PGlite is one backend in this process, and its WASM heap never shrinks: what
 * Postgres touches once stays resident. shared_buffers is touched whole at start (128 MB by
 * default, ~120 MB of resident memory measured); the database is small and the files it
 * reads stay in the operating system's page cache, so 16 MB of buffers costs a copy, not a
 * disk read. The others cap what one sort, index build or temporary table can grow the heap to.
 */
export const PGLITE_SETTINGS = [
  "shared_buffers=16MB",
  "wal_buffers=1MB",
  "max_connections=8",
  "work_mem=4MB",
  "maintenance_work_mem=16MB",
  "temp_buffers=4MB",
];

/** Opens (creating it first when new) the embedded database in `directory`. */
export async function openPglite(directory: string, parsers: ParserOptions): Promise<PGlite> {
  compileWasmOnce();
  if (!fs.existsSync(path.join(directory, "PG_VERSION"))) await initializeInChildProcess(directory);
  const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((setting) => ["-c", setting])];
  const pglite = new PGlite(directory, { parsers, startParams });
  await pglite.waitReady;
  return pglite;
}

/**
 * PGlite is a 9 MB WebAssembly module. V8 compiles it with its baseline compiler (Liftoff),
 * then recompiles every function that gets warm with its optimizing one (TurboFan) in
 * background threads: for Postgres that is most of it, and it left ~50 MB more resident
 * (service idle: 230 → 180 MB) and competed for the CPU for seconds after the start.
 * The price: ~5 % fewer point queries per second once warm (10.8k against 11.3k/s on a quiet
 * machine, bench/README.md), for a start without seconds of background compiling. Set before
 * the module is compiled; it applies to WebAssembly only, and nothing else in this process is
 * WebAssembly.
 */
function compileWasmOnce(): void {
  v8.setFlagsFromString("--liftoff-only");
}

/** initdb in a short-lived process of its own: see pgliteInitChild.mjs for why. */
async function initializeInChildProcess(directory: string): Promise<void> {
  // Plain node, without the service's flags or loader (tsx under tests): the script is JavaScript.
  const child = spawn(process.execPath, [INIT_SCRIPT, directory, JSON.stringify(PGLITE_SETTINGS)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? -1 : null)));
  });
  if (code !== 0) throw new Error(`Could not create the embedded database in ${directory}: ${stderr.trim() || `exit ${code}`}`);
}
