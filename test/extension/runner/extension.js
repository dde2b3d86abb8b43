// Test-only extension (CommonJS, no build step): the offline stand-in for @vscode/test-electron's
// test runner. config.json, written next to this file by the harness, names the suite bundle and
// where to write the outcome; the suite itself writes the per-test report.
const fs = require("node:fs");
const path = require("node:path");

exports.activate = function activate() {
  const config = JSON.parse(fs.readFileSync(path.join(__dirname, "config.json"), "utf8"));
  Object.assign(process.env, config.env);
  fs.writeFileSync(config.startedPath, JSON.stringify({ pid: process.pid }));
  // Not awaited: activation returns at once and the suite runs alongside the workbench.
  void (async () => {
    let outcome;
    try {
      await require(config.suitePath).run();
      outcome = { ok: true };
    } catch (error) {
      outcome = { ok: false, error: String((error && error.stack) || error) };
    }
    fs.writeFileSync(`${config.donePath}.tmp`, JSON.stringify(outcome));
    fs.renameSync(`${config.donePath}.tmp`, config.donePath);
  })();
};

exports.deactivate = function deactivate() {};
