/**
 * The suite entry with @vscode/test-electron's shape: `run()` resolves when every test passed.
 * It also writes a report (counts and each test's outcome) to CLARIVE_EDITOR_REPORT when set, so
 * the outer script can print it: the extension host's console is not the terminal's.
 */
import fs from "node:fs";
import Mocha from "mocha";

export interface EditorReport {
  passed: number;
  failed: number;
  pending: number;
  lines: string[];
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", timeout: 120_000, color: false, reporter: "dot" });
  // The tests are bundled with this file: define them against this Mocha instance, then run.
  mocha.suite.emit("pre-require", globalThis, "editor.test", mocha);
  await import("./editor.test");
  const report: EditorReport = { passed: 0, failed: 0, pending: 0, lines: [] };
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on("pass", (test) => {
      report.passed++;
      report.lines.push(`  ✔ ${test.fullTitle()} (${test.duration ?? 0} ms)`);
    });
    runner.on("fail", (test, error: Error) => {
      report.failed++;
      report.lines.push(
        `  ✘ ${test.fullTitle()}\n      ${String(error.stack ?? error)
          .split("\n")
          .join("\n      ")}`,
      );
    });
    runner.on("pending", (test) => {
      report.pending++;
      report.lines.push(`  - ${test.fullTitle()} (skipped)`);
    });
  });
  const reportPath = process.env.CLARIVE_EDITOR_REPORT;
  if (reportPath) fs.writeFileSync(reportPath, JSON.stringify(report));
  if (report.failed > 0) throw new Error(`${report.failed} editor test(s) failed`);
}
