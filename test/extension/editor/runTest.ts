/**
 * Runs the real-editor suite (editor/index.ts + editor.test.ts), in @vscode/test-electron's shape:
 * - with VS Code desktop available (VSCODE_EXECUTABLE_PATH, or CLARIVE_EDITOR=electron to let
 *   @vscode/test-electron download it): `runTests` with the suite as extensionTestsPath;
 * - otherwise, offline: code-server + headless Chromium, with a tiny runner extension that runs
 *   the same `run()` on start-up (see ../shared/notes/vscode-real-editor-offline.md).
 * Prints mocha's "N passing / N failing / N pending" so test/run-all.ts counts the tests.
 */
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { runTests } from "@vscode/test-electron";
import type { EditorReport } from "./index";
import {
  ADMIN_PASSWORD,
  CACHE,
  ROOT,
  editorUnavailable,
  gitWorkspace,
  openWorkbench,
  packageExtension,
  startCodeServer,
  startService,
  waitFor,
  type RunningCodeServer,
  type RunningService,
  type Workbench,
} from "../support/harness";
import { createTestCertificates, type TestCertificates } from "../../support/tls";

const started = Date.now();
const logDir = path.join(CACHE, "logs", `editor-${new Date().toISOString().replace(/[:.]/g, "-")}`);
fs.mkdirSync(logDir, { recursive: true });
const say = (line: string) => process.stdout.write(`[editor ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

/** The suite as one CommonJS file for the extension host (vscode and mocha come from the host and node_modules). */
async function bundleSuite(): Promise<string> {
  const outfile = path.join(CACHE, "build/editor-suite/index.cjs");
  await build({
    entryPoints: [path.join(ROOT, "test/extension/editor/index.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode", "mocha"],
    outfile,
    sourcemap: "inline",
    logLevel: "warning",
    // mocha is resolved from the repository's node_modules, two levels up from the cache folder.
    nodePaths: [path.join(ROOT, "node_modules")],
  });
  return outfile;
}

function printReport(report: EditorReport): void {
  process.stdout.write(`\n${report.lines.join("\n")}\n\n`);
  process.stdout.write(`  ${report.passed} passing\n`);
  if (report.failed > 0) process.stdout.write(`  ${report.failed} failing\n`);
  if (report.pending > 0) process.stdout.write(`  ${report.pending} pending\n`);
}

async function main(): Promise<number> {
  const suitePath = await bundleSuite();
  const reportPath = path.join(logDir, "report.json");
  let service: RunningService | undefined;
  let httpsService: RunningService | undefined;
  let certs: TestCertificates | undefined;
  let codeServer: RunningCodeServer | undefined;
  let workbench: Workbench | undefined;
  let workspace: string | undefined;
  try {
    say("packaging the .vsix");
    const vsix = await packageExtension();
    service = await startService(logDir);
    say(`service on ${service.url}`);
    // A second service with native TLS, its certificate from a private CA made for this run.
    certs = createTestCertificates();
    httpsService = await startService(logDir, {
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caCert },
      logName: "service-https.log",
    });
    say(`https service on ${httpsService.url}`);
    workspace = await gitWorkspace();
    const env = {
      CLARIVE_TEST_SERVER_URL: service.url,
      CLARIVE_TEST_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CLARIVE_TEST_REPOS_DIR: service.reposDir,
      CLARIVE_TEST_HTTPS_SERVER_URL: httpsService.url,
      CLARIVE_TEST_HTTPS_REPOS_DIR: httpsService.reposDir,
      CLARIVE_TEST_CA_CERT: certs.caCert,
      CLARIVE_EDITOR_REPORT: reportPath,
      CLARIVE_EXTENSION_TEST_HOOKS: "1",
    };

    const desktop = process.env.VSCODE_EXECUTABLE_PATH || process.env.CLARIVE_EDITOR === "electron";
    if (desktop) {
      say("running under @vscode/test-electron");
      await runTests({
        ...(process.env.VSCODE_EXECUTABLE_PATH && { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE_PATH }),
        extensionDevelopmentPath: path.join(ROOT, "extension"),
        extensionTestsPath: suitePath,
        extensionTestsEnv: env,
        launchArgs: [workspace, "--disable-workspace-trust"],
      }).catch(() => undefined); // failures are in the report
      void vsix;
    } else {
      const unavailable = editorUnavailable();
      if (unavailable) throw new Error(unavailable);
      const donePath = path.join(logDir, "done.json");
      const startedPath = path.join(logDir, "started.json");
      const config = JSON.stringify({ suitePath, donePath, startedPath, env });
      codeServer = await startCodeServer({
        workspace,
        logDir,
        extraExtensions: [{ folder: path.join(ROOT, "test/extension/runner"), files: { "config.json": config } }],
        env,
        // The private CA as a user would trust it: in the user settings.
        settings: { "clarive.caCertificate": certs.caCert },
      });
      say(`code-server on ${codeServer.url}`);
      workbench = await openWorkbench(codeServer, logDir);
      say("workbench open; waiting for the extension host to start the suite");
      await waitFor(() => fs.existsSync(startedPath), 120_000, "the test runner extension to activate");
      say("suite started");
      await waitFor(() => fs.existsSync(donePath), 5 * 60_000, "the editor suite to finish");
      const outcome = JSON.parse(fs.readFileSync(donePath, "utf8")) as { ok: boolean; error?: string };
      if (!outcome.ok && !fs.existsSync(reportPath)) throw new Error(`the suite did not run: ${outcome.error}`);
    }
    if (!fs.existsSync(reportPath)) throw new Error("the suite wrote no report");
    const report = JSON.parse(fs.readFileSync(reportPath, "utf8")) as EditorReport;
    printReport(report);
    say(`done (logs in ${path.relative(ROOT, logDir)})`);
    return report.failed === 0 && report.passed > 0 ? 0 : 1;
  } finally {
    await workbench?.close();
    await codeServer?.stop();
    await service?.stop();
    await httpsService?.stop();
    certs?.remove();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`editor suite could not run: ${error instanceof Error ? error.stack : String(error)}\n  1 failing\n`);
    process.stdout.write("  0 passing\n  1 failing\n");
    process.exit(1);
  },
);
