/**
 * `npm test`: every suite, with the server suites run twice — on embedded PGlite and on a
 * real Postgres cluster created here in a temporary folder. Fails when any suite fails,
 * runs no test, or (the Postgres run) cannot start.
 */
import { spawn } from "node:child_process";
import { startPostgresCluster, type PostgresCluster } from "./support/postgres";

interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
  pending: number;
  exitCode: number;
}

function runMocha(name: string, config: string, env: Record<string, string> = {}): Promise<SuiteResult> {
  return runSuite(name, ["mocha", "--config", config], env);
}

/** Runs `npx <args>` and reads mocha's "N passing / failing / pending" summary from its output. */
function runSuite(name: string, args: string[], env: Record<string, string> = {}): Promise<SuiteResult> {
  process.stdout.write(`\n=== ${name} ===\n`);
  return new Promise((resolve) => {
    const child = spawn("npx", args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on("close", (code) => {
      const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
      resolve({ name, passed: count("passing"), failed: count("failing"), pending: count("pending"), exitCode: code ?? 1 });
    });
  });
}

const only = new Set(process.argv.slice(2));
const wanted = (suite: string) => only.size === 0 || only.has(suite);
const results: SuiteResult[] = [];

if (wanted("unit")) results.push(await runMocha("unit", "test/.mocharc.unit.json"));
if (wanted("extension-unit")) results.push(await runMocha("extension unit", "test/.mocharc.extension-unit.json"));
// In a real VS Code extension host (code-server offline, see test/extension/editor/runTest.ts).
if (wanted("extension-editor")) results.push(await runSuite("extension in a real editor", ["tsx", "test/extension/editor/runTest.ts"]));
if (wanted("extension-ui")) results.push(await runMocha("extension through the UI", "test/.mocharc.extension-ui.json"));
if (wanted("pglite")) results.push(await runMocha("server on PGlite", "test/.mocharc.server.json", { TEST_DB: "pglite" }));
if (wanted("postgres")) {
  let cluster: PostgresCluster | undefined;
  try {
    cluster = await startPostgresCluster();
    results.push(
      await runMocha("server on Postgres", "test/.mocharc.server.json", {
        TEST_DB: "postgres",
        TEST_PG_ADMIN_URL: cluster.adminUrl,
      }),
    );
  } catch (error) {
    process.stderr.write(`Could not run the Postgres suite: ${error instanceof Error ? error.message : String(error)}\n`);
    results.push({ name: "server on Postgres", passed: 0, failed: 1, pending: 0, exitCode: 1 });
  } finally {
    cluster?.stop();
  }
}

process.stdout.write("\n=== summary ===\n");
let ok = true;
for (const r of results) {
  const problem = r.exitCode !== 0 ? "FAILED" : r.passed === 0 ? "RAN NO TEST" : r.pending > 0 ? "SKIPPED TESTS" : "ok";
  if (problem !== "ok") ok = false;
  process.stdout.write(`${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.pending} skipped — ${problem}\n`);
}
const total = results.reduce((t, r) => ({ passed: t.passed + r.passed, failed: t.failed + r.failed }), { passed: 0, failed: 0 });
process.stdout.write(`${total.passed} passed, ${total.failed} failed\n`);
process.exit(ok ? 0 : 1);
