/**
 * Runs inside a real VS Code extension host (code-server offline, or VS Code desktop through
 * @vscode/test-electron) against a real Clarive service on PGlite. Commands run through
 * `vscode.commands.executeCommand`, with their prompts answered by a scripted UI (the UI suite
 * drives the real input boxes); git runs for real, through VS Code's git extension and its terminal.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import { isWellFormedPersonalAccessToken, type LoginResponse } from "@clarive/shared";
import type { ClariveExtensionApi, ClariveTestHooks } from "../../../extension/src/extension";
import type { GitApi, GitExtension, Repository } from "../../../extension/src/git/gitApi";
import type { TokenTreeItem } from "../../../extension/src/vscode/tokensTree";
import { httpsFetch } from "../../../extension/src/api/transport";
import { ScriptedUi } from "../support/scriptedUi";
import { restCall } from "../support/rest";

const serverUrl = requiredEnv("CLARIVE_TEST_SERVER_URL");
const adminPassword = requiredEnv("CLARIVE_TEST_ADMIN_PASSWORD");
const reposDir = requiredEnv("CLARIVE_TEST_REPOS_DIR");
const httpsServerUrl = requiredEnv("CLARIVE_TEST_HTTPS_SERVER_URL");
const httpsReposDir = requiredEnv("CLARIVE_TEST_HTTPS_REPOS_DIR");
const caCert = requiredEnv("CLARIVE_TEST_CA_CERT");

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite through test/extension/editor/runTest.ts`);
  return value;
}

/** Temporary folders this suite makes, removed at the end. */
const scratch: string[] = [];
function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

function run(command: string, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = scratchDir("clarive-editor-git-home-");
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", LANG: "C" } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

const api = <T>(method: string, route: string, apiKey?: string, body?: unknown): Promise<T> =>
  restCall<T>(serverUrl, method, route, apiKey, body);

async function until<T>(read: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Clarive extension in a real VS Code", () => {
  let hooks: ClariveTestHooks;
  const ui = new ScriptedUi();
  let workspaceRepository: Repository;
  let gitApi: GitApi;

  const tokenItems = () => hooks.treeItems().filter((item): item is TokenTreeItem => "token" in item);
  const itemNamed = (label: string) => tokenItems().find((item) => item.label === label);

  before(async () => {
    const extension = vscode.extensions.getExtension<ClariveExtensionApi>("clarive.clarive-git-pats");
    assert.ok(extension, "the packaged extension is installed");
    const exports = extension.isActive ? extension.exports : await extension.activate();
    assert.ok(exports.testHooks, "test hooks are on (CLARIVE_EXTENSION_TEST_HOOKS=1 or extensionMode Test)");
    hooks = exports.testHooks;
    hooks.setUi(ui);

    const admin = await api<LoginResponse>("POST", "/auth/login", undefined, { username: "admin", password: adminPassword });
    await api("POST", "/repositories", admin.apiKey, { project: "acme", name: "widgets" });
    await api("PUT", "/settings/git", admin.apiKey, { patAuthEnabled: true });

    const git = vscode.extensions.getExtension<GitExtension>("vscode.git");
    assert.ok(git, "VS Code's git extension is there");
    gitApi = (git.isActive ? git.exports : await git.activate()).getAPI(1);
    workspaceRepository = await until(() => gitApi.repositories[0], "the git extension to open the workspace repository");
  });

  after(() => {
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    // A prompt nobody answered, or an answer left over, is a failure of the test that caused it.
    const problems = [...ui.problems.splice(0)];
    if (problems.length > 0 && this.currentTest?.state === "passed") throw new Error(`Scripted UI: ${problems.join("; ")}`);
  });

  it("contributes its commands, and shows no tokens while signed out", async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of [
      "signIn",
      "signOut",
      "refreshTokens",
      "createToken",
      "editToken",
      "activateToken",
      "deactivateToken",
      "removeToken",
      "configureGitRemote",
      "removeGitCredentials",
      "rotateToken",
    ]) {
      assert.ok(commands.includes(`clarive.${id}`), `clarive.${id} is registered`);
    }
    assert.equal(hooks.tokensState().kind, "signed-out");
    assert.deepEqual(hooks.treeItems(), []);
  });

  it("signs in with username and password", async () => {
    ui.answer({ input: serverUrl }, { pick: "Username and password" }, { input: "admin" }, { input: adminPassword });
    assert.equal(await vscode.commands.executeCommand("clarive.signIn"), true);
    assert.equal(ui.pending, 0);
    assert.equal(hooks.tokensState().kind, "loaded");
    assert.equal(vscode.workspace.getConfiguration("clarive").get("serverUrl"), serverUrl);
    assert.deepEqual(await hooks.accounts(), [`admin @ ${new URL(serverUrl).host}`], "VS Code's Accounts menu lists the account");
    assert.equal(hooks.viewDescription(), `admin @ ${new URL(serverUrl).host}`, "the view says who is signed in where");
  });

  it("creates a token: it is on the clipboard, clones the repository with real git, and shows in the tree", async () => {
    ui.answer(
      { input: "editor laptop" },
      { pick: "30 days" },
      { pick: "Selected repositories…" },
      { pickMany: ["acme/widgets"] },
      { pick: "Read & write" },
      { message: undefined },
    );
    await vscode.commands.executeCommand("clarive.createToken");
    assert.equal(ui.pending, 0);
    const secret = await vscode.env.clipboard.readText();
    assert.ok(isWellFormedPersonalAccessToken(secret), `the clipboard holds a token (got ${secret.slice(0, 7)}…)`);
    const modal = ui.prompts.find((p) => p.modal && p.detail === secret);
    assert.ok(modal, "shown once in a modal");

    const target = path.join(scratchDir("clarive-editor-clone-"), "widgets");
    const url = new URL(`${serverUrl}/git/acme/widgets.git`);
    url.username = "admin";
    url.password = secret;
    const clone = await run("git", ["clone", url.toString(), target]);
    assert.equal(clone.code, 0, `git clone with the clipboard's token: ${clone.stderr}`);
    // A different last character (a fixed "x" would be no change for a token ending in x).
    url.password = `${secret.slice(0, -1)}${secret.endsWith("x") ? "y" : "x"}`;
    const refused = await run("git", ["clone", url.toString(), `${target}-refused`]);

    assert.notEqual(refused.code, 0, "a mangled token is refused");

    const item = itemNamed("editor laptop");
    assert.ok(item, "the new token is in the tree");
    assert.equal(item.contextValue, "token:active");
    assert.match(String(item.description), /^expires in (29|30) days · read & write · acme\/widgets$/);
  });

  it("edits the token, pre-filled, and the tree shows the change at once", async () => {
    const item = itemNamed("editor laptop");
    assert.ok(item);
    ui.answer(
      { input: "editor laptop (read-only)" },
      { pick: "Selected repositories…" },
      { pickMany: ["acme/widgets"] },
      { pick: "Read-only" },
    );
    await vscode.commands.executeCommand("clarive.editToken", item);
    const prompts = ui.prompts.filter((p) => p.kind !== "message").slice(-4);
    assert.equal(prompts[0]?.value, "editor laptop");
    assert.deepEqual(prompts[2]?.picked, ["acme/widgets"]);
    const edited = itemNamed("editor laptop (read-only)");
    assert.ok(edited);
    assert.match(String(edited.description), /read-only · acme\/widgets$/);
  });

  it("deactivates and activates the token from its item", async () => {
    await vscode.commands.executeCommand("clarive.deactivateToken", itemNamed("editor laptop (read-only)"));
    assert.equal(itemNamed("editor laptop (read-only)")?.contextValue, "token:inactive");
    await vscode.commands.executeCommand("clarive.activateToken", itemNamed("editor laptop (read-only)"));
    assert.equal(itemNamed("editor laptop (read-only)")?.contextValue, "token:active");
  });

  it("removes the token after the modal confirmation", async () => {
    ui.answer({ message: "Remove" });
    assert.equal(await vscode.commands.executeCommand("clarive.removeToken", itemNamed("editor laptop (read-only)")), true);
    assert.equal(itemNamed("editor laptop (read-only)"), undefined);
  });

  it("shows an administrator every user's tokens in All Tokens, grouped by user, and deactivates and removes one", async () => {
    const adminKey = (await api<LoginResponse>("POST", "/auth/login", undefined, { username: "admin", password: adminPassword })).apiKey;
    await api("POST", "/users", adminKey, { username: "erin", password: "erin-password", isAdmin: false });
    const erinKey = (await api<LoginResponse>("POST", "/auth/login", undefined, { username: "erin", password: "erin-password" })).apiKey;
    await api("POST", "/tokens", erinKey, { description: "erin build box", expiresInDays: 30, permission: "read" });
    await vscode.commands.executeCommand("clarive.admin.refreshAllTokens");
    const erinRow = () =>
      hooks.allTokensItems().find((item) => item.label === "erin build box") as (vscode.TreeItem & { token: unknown }) | undefined;
    const users = hooks
      .allTokensItems()
      .filter((item) => item.contextValue === "admin-user")
      .map((item) => (typeof item.label === "string" ? item.label : item.label?.label));
    // One row per user who has tokens (admin removed its own above).
    assert.deepEqual(users, ["erin"]);
    assert.equal(erinRow()?.contextValue, "admin-token:active");
    assert.match(String(erinRow()?.description), /^expires in (29|30) days · never used$/);
    ui.answer({ message: "Deactivate" });
    await vscode.commands.executeCommand("clarive.admin.deactivateAnyToken", erinRow());
    assert.equal(erinRow()?.contextValue, "admin-token:inactive");
    ui.answer({ message: "Remove" });
    assert.equal(await vscode.commands.executeCommand("clarive.admin.removeAnyToken", erinRow()), true);
    assert.equal(erinRow(), undefined);
    assert.deepEqual(await api<unknown[]>("GET", "/tokens", erinKey), []);
  });

  it("configures the workspace remote and pushes through the vscode.git API with the credentials provider", async () => {
    ui.answer(
      { pick: "acme/widgets" },
      { pick: "Create a new token for acme/widgets" },
      { input: "acme/widgets from VS Code" },
      { pick: "30 days" },
      { pick: "Selected repositories…" },
      { pickMany: ["acme/widgets"] },
      { pick: "Read & write" },
      { pick: "VS Code secret storage (recommended)" },
    );
    const configured = await vscode.commands.executeCommand<{ url: string; remote: string } | undefined>("clarive.configureGitRemote");
    assert.equal(ui.pending, 0);
    assert.deepEqual(configured && { url: configured.url, remote: configured.remote }, {
      url: `${serverUrl}/git/acme/widgets.git`,
      remote: "origin",
    });

    await workspaceRepository.push("origin", "main", true);
    const local = (await run("git", ["rev-parse", "HEAD"], workspaceRepository.rootUri.fsPath)).stdout.trim();
    const remote = (await run("git", ["--git-dir", path.join(reposDir, "acme/widgets.git"), "rev-parse", "refs/heads/main"])).stdout.trim();
    assert.equal(remote, local, "the commit reached the server");

    const config = fs.readFileSync(path.join(workspaceRepository.rootUri.fsPath, ".git/config"), "utf8");
    assert.ok(!config.includes("clapat_"), `.git/config holds no token:\n${config}`);
    assert.match(config, new RegExp(`url = ${serverUrl.replace(/[.]/g, "\\.")}/git/acme/widgets\\.git`));
  });

  it("lets git in the integrated terminal push with the same credentials", async () => {
    const folder = workspaceRepository.rootUri.fsPath;
    const marker = path.join(scratchDir("clarive-editor-terminal-"), "push");
    const terminal = vscode.window.createTerminal({ name: "clarive-push", cwd: folder, shellPath: "/bin/bash" });
    try {
      fs.writeFileSync(path.join(folder, "terminal.txt"), "pushed from the terminal\n");
      terminal.sendText(
        `git add terminal.txt && git commit -qm 'from the terminal' && git push origin HEAD:refs/heads/from-terminal > ${marker}.log 2>&1; echo $? > ${marker}.rc`,
      );
      const rc = await until(
        () => (fs.existsSync(`${marker}.rc`) ? fs.readFileSync(`${marker}.rc`, "utf8").trim() : undefined),
        "the terminal's git push",
        60_000,
      );
      const log = fs.existsSync(`${marker}.log`) ? fs.readFileSync(`${marker}.log`, "utf8") : "";
      assert.equal(rc, "0", `git push in the terminal: ${log}`);
      const pushed = await run("git", ["--git-dir", path.join(reposDir, "acme/widgets.git"), "rev-parse", "refs/heads/from-terminal"]);
      assert.equal(pushed.code, 0, "the branch reached the server");
    } finally {
      terminal.dispose();
    }
  });

  it("rotates the token from its item: git push from the terminal keeps working, with no prompt, on the new secret", async () => {
    const item = itemNamed("acme/widgets from VS Code");
    assert.ok(item, "the token Configure Git Remote made is in the tree");
    const oldHint = item.token.hint;
    ui.answer({ pick: "Now" }, { message: undefined });
    const rotated = await vscode.commands.executeCommand<{ id: number; hint: string } | undefined>("clarive.rotateToken", item);
    assert.equal(ui.pending, 0);
    assert.equal(rotated?.id, item.token.id, "the same token");
    const modal = ui.prompts.at(-1);
    assert.equal(modal?.closeLabel, "Close");
    const secret = (modal?.detail ?? "").split("\n")[0] ?? "";
    assert.ok(isWellFormedPersonalAccessToken(secret), "the new secret is shown once");
    assert.equal(await vscode.env.clipboard.readText(), secret, "and copied");
    assert.match(modal?.detail ?? "", /acme\/widgets \(secret storage\)/, "says which credential it updated");
    const after = itemNamed("acme/widgets from VS Code");
    assert.notEqual(after?.token.hint, oldHint);
    assert.equal(after?.token.hint, `clapat_…${secret.slice(-4)}`);

    // The old secret is refused at once ("Now"): a push that works used the new one. A password
    // prompt (VS Code's own input box, which nobody answers here) would leave the push hanging.
    const folder = workspaceRepository.rootUri.fsPath;
    const marker = path.join(scratchDir("clarive-editor-terminal-rotated-"), "push");
    const terminal = vscode.window.createTerminal({ name: "clarive-push-rotated", cwd: folder, shellPath: "/bin/bash" });
    try {
      fs.writeFileSync(path.join(folder, "rotated.txt"), "pushed after the rotation\n");
      terminal.sendText(
        `git add rotated.txt && git commit -qm 'after rotation' && git push origin HEAD:refs/heads/after-rotation > ${marker}.log 2>&1; echo $? > ${marker}.rc`,
      );
      const rc = await until(
        () => (fs.existsSync(`${marker}.rc`) ? fs.readFileSync(`${marker}.rc`, "utf8").trim() : undefined),
        "the terminal's git push after the rotation",
        60_000,
      );
      const log = fs.existsSync(`${marker}.log`) ? fs.readFileSync(`${marker}.log`, "utf8") : "";
      assert.equal(rc, "0", `git push in the terminal after the rotation: ${log}`);
      const local = (await run("git", ["rev-parse", "HEAD"], folder)).stdout.trim();
      const pushed = await run("git", ["--git-dir", path.join(reposDir, "acme/widgets.git"), "rev-parse", "refs/heads/after-rotation"]);
      assert.equal(pushed.stdout.trim(), local, "the commit reached the server");
    } finally {
      terminal.dispose();
    }
    const status = await hooks.remoteStatus();
    assert.match(status?.text ?? "", /^\$\(key\) acme\/widgets from VS Code · (29|30) days$/, "the status bar names the token git uses");
    assert.match(status?.tooltip ?? "", /for "origin" \(acme\/widgets\), from VS Code's secret storage\. Expires \d{4}-/);
  });

  it("the status bar's click offers Rotate Token first, and rotating from there updates what it shows", async () => {
    const before = itemNamed("acme/widgets from VS Code")?.token.hint;
    ui.answer({ pick: "Rotate Token" }, { pick: "In 1 hour" }, { message: undefined });
    await vscode.commands.executeCommand("clarive.remoteStatusActions");
    assert.equal(ui.pending, 0);
    const offered = ui.prompts.find((p) => p.title === "Clarive: git remote");
    assert.deepEqual(offered?.labels, ["Rotate Token", "Configure Git Remote"]);
    const after = itemNamed("acme/widgets from VS Code")?.token.hint;
    assert.ok(after && after !== before, "rotated");
    const tooltip = (await hooks.remoteStatus())?.tooltip ?? "";
    assert.ok(tooltip.includes(`(${after})`), `the status bar names the new hint: ${tooltip}`);
  });

  it("removes the stored git credentials, and the status bar says git has no token", async () => {
    ui.answer({ pickMany: ["acme/widgets"] });
    assert.equal(await vscode.commands.executeCommand("clarive.removeGitCredentials"), 1);
    const status = await hooks.remoteStatus();
    assert.equal(status?.text, "$(warning) Clarive: no token");
    assert.equal(status?.severity, "warning");
  });

  it("signs out: the tree empties, and a refused key leaves no half state", async () => {
    await vscode.commands.executeCommand("clarive.signOut");
    assert.equal(hooks.tokensState().kind, "signed-out");
    assert.equal(hooks.viewDescription(), undefined);
    assert.deepEqual(hooks.treeItems(), []);
    ui.answer({ input: serverUrl }, { pick: "API key" }, { input: "clapi_" + "0".repeat(36) });
    assert.equal(await vscode.commands.executeCommand("clarive.signIn"), false, "a bad key is refused with a message");
    assert.match(ui.messages("error").join("\n"), /does not accept this API key/);
    assert.equal(hooks.tokensState().kind, "signed-out", "no half state");
  });

  it("shows an error item, not an exception, when the server fails or goes away", async () => {
    // A stand-in server that accepts the key but fails the token list, then disappears.
    const fake = http.createServer((request, response) => {
      const json = (status: number, body: unknown) =>
        response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (request.url === "/api/v1/me")
        json(200, { id: 9, username: "carol", isAdmin: false, active: true, createdAt: new Date().toISOString() });
      else if (request.url === "/api/v1/tokens") json(503, { error: { code: "unavailable", message: "down for maintenance" } });
      else json(404, { error: { code: "not_found", message: "no" } });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const address = fake.address();
    const fakeUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    try {
      ui.answer({ input: fakeUrl }, { pick: "API key" }, { input: "clapi_" + "1".repeat(36) });
      assert.equal(await vscode.commands.executeCommand("clarive.signIn"), true);
      const [item] = hooks.treeItems();
      assert.equal(item?.label, "Could not load tokens");
      assert.equal(item?.description, "down for maintenance");
      assert.equal(item?.command?.command, "clarive.refreshTokens", "clicking retries");
    } finally {
      const closed = new Promise((resolve) => fake.close(resolve));
      fake.closeAllConnections();
      await closed;
    }
    await vscode.commands.executeCommand("clarive.refreshTokens");
    const [gone] = hooks.treeItems();
    assert.equal(gone?.label, "Could not load tokens");
    assert.match(String(gone?.description), new RegExp(`Cannot reach the Clarive server at ${fakeUrl.replace(/[.]/g, "\\.")}`));
    await vscode.commands.executeCommand("clarive.signOut");
    assert.equal(hooks.tokensState().kind, "signed-out");
  });
  describe("over HTTPS, with a private CA", () => {
    const clarive = () => vscode.workspace.getConfiguration("clarive");
    const key = `http.${httpsServerUrl}/.sslCAInfo`;
    /** The runner's own requests trust the test CA explicitly (the extension host's fetch does not know it). */
    const trusted = httpsFetch([fs.readFileSync(caCert, "utf8")]);
    const signInAnswers = () => [
      { input: httpsServerUrl },
      { pick: "Username and password" },
      { input: "admin" },
      { input: adminPassword },
    ];

    before(async () => {
      const admin = await restCall<LoginResponse>(
        httpsServerUrl,
        "POST",
        "/auth/login",
        undefined,
        { username: "admin", password: adminPassword },
        trusted,
      );
      await restCall(httpsServerUrl, "POST", "/repositories", admin.apiKey, { project: "acme", name: "widgets" }, trusted);
      await restCall(httpsServerUrl, "PUT", "/settings/git", admin.apiKey, { patAuthEnabled: true }, trusted);
      if (clarive().get("caCertificate") !== caCert) {
        // Under VS Code desktop (no user settings written by the harness): set it as a user would.
        await clarive().update("caCertificate", caCert, vscode.ConfigurationTarget.Global);
      }
    });

    it("without clarive.caCertificate, sign-in fails with a sentence naming the certificate problem", async () => {
      assert.ok(httpsServerUrl.startsWith("https://"));
      await clarive().update("caCertificate", "", vscode.ConfigurationTarget.Global);
      try {
        ui.answer(...signInAnswers());
        assert.equal(await vscode.commands.executeCommand("clarive.signIn"), false);
        const error = ui.messages("error").at(-1) ?? "";
        assert.match(
          error,
          /^Cannot connect securely to the Clarive server at https:\/\/127\.0\.0\.1:\d+: the server's certificate is not trusted/,
        );
        assert.match(error, /Set clarive\.caCertificate to your CA's PEM file/);
        assert.doesNotMatch(error, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
        assert.equal(hooks.tokensState().kind, "signed-out");
      } finally {
        await clarive().update("caCertificate", caCert, vscode.ConfigurationTarget.Global);
      }
    });

    it("with the CA in the user settings, signs in to the https server", async () => {
      assert.equal(clarive().get("caCertificate"), caCert);
      ui.answer(...signInAnswers());
      assert.equal(await vscode.commands.executeCommand("clarive.signIn"), true);
      assert.equal(hooks.tokensState().kind, "loaded");
      assert.equal(clarive().get("serverUrl"), httpsServerUrl);
    });

    it("creates a token in Configure Git Remote, and git trusts the CA through the repository's own config, once", async () => {
      const folder = workspaceRepository.rootUri.fsPath;
      ui.answer(
        { pick: "clarive" },
        { pick: "acme/widgets" },
        { pick: "Create a new token for acme/widgets" },
        { input: "acme/widgets over https" },
        { pick: "30 days" },
        { pick: "Selected repositories…" },
        { pickMany: ["acme/widgets"] },
        { pick: "Read & write" },
        { pick: "VS Code secret storage (recommended)" },
      );
      const configured = await vscode.commands.executeCommand<{ url: string; remote: string; caFile?: string } | undefined>(
        "clarive.configureGitRemote",
      );
      assert.equal(ui.pending, 0);
      assert.deepEqual(configured, {
        folder,
        remote: "clarive",
        url: `${httpsServerUrl}/git/acme/widgets.git`,
        repository: "acme/widgets",
        embedded: false,
        caFile: caCert,
      });
      // Once more, keeping the stored token: still exactly one value (vscode.git's setConfig would append).
      ui.answer(
        { pick: "clarive" },
        { pick: "acme/widgets" },
        { pick: "Keep the stored token" },
        { pick: "VS Code secret storage (recommended)" },
      );
      await vscode.commands.executeCommand("clarive.configureGitRemote");
      assert.equal(ui.pending, 0);
      const all = await run("git", ["config", "--local", "--get-all", key], folder);
      assert.deepEqual(all.stdout.trim().split("\n"), [caCert], "http.<server>/.sslCAInfo set exactly once");
      const urls = await run("git", ["config", "--local", "--get-all", "remote.clarive.url"], folder);
      assert.deepEqual(urls.stdout.trim().split("\n"), [`${httpsServerUrl}/git/acme/widgets.git`], "one URL for the remote");
      // The editor's own HOME (the terminal's git reads it): nothing about the CA went there.
      const userConfig = path.join(os.homedir(), ".gitconfig");
      assert.ok(
        !(fs.existsSync(userConfig) ? fs.readFileSync(userConfig, "utf8") : "").includes("sslCAInfo"),
        "nothing in the global config",
      );
      const config = fs.readFileSync(path.join(folder, ".git/config"), "utf8");
      assert.ok(!config.includes("clapat_"), `.git/config holds no token:\n${config}`);
    });

    it("pushes over https from the integrated terminal", async () => {
      const folder = workspaceRepository.rootUri.fsPath;
      const marker = path.join(scratchDir("clarive-editor-terminal-https-"), "push");
      const terminal = vscode.window.createTerminal({ name: "clarive-push-https", cwd: folder, shellPath: "/bin/bash" });
      try {
        fs.writeFileSync(path.join(folder, "https.txt"), "pushed over https from the terminal\n");
        terminal.sendText(
          `git add https.txt && git commit -qm 'over https' && git push clarive HEAD:refs/heads/over-https > ${marker}.log 2>&1; echo $? > ${marker}.rc`,
        );
        const rc = await until(
          () => (fs.existsSync(`${marker}.rc`) ? fs.readFileSync(`${marker}.rc`, "utf8").trim() : undefined),
          "the terminal's git push over https",
          60_000,
        );
        const log = fs.existsSync(`${marker}.log`) ? fs.readFileSync(`${marker}.log`, "utf8") : "";
        assert.equal(rc, "0", `git push over https in the terminal: ${log}`);
        const local = (await run("git", ["rev-parse", "HEAD"], folder)).stdout.trim();
        const pushed = await run("git", ["--git-dir", path.join(httpsReposDir, "acme/widgets.git"), "rev-parse", "refs/heads/over-https"]);
        assert.equal(pushed.stdout.trim(), local, "the commit reached the https server");
      } finally {
        terminal.dispose();
      }
    });

    it("Remove Git Credentials also removes the sslCAInfo key it set, then signs out", async () => {
      const folder = workspaceRepository.rootUri.fsPath;
      ui.answer({ pickMany: ["acme/widgets", `${path.basename(folder)}: trust of ${path.basename(caCert)}`] });
      assert.equal(await vscode.commands.executeCommand("clarive.removeGitCredentials"), 2);
      const left = await run("git", ["config", "--local", "--get-all", key], folder);
      assert.equal(left.code, 1, `the key is gone: ${left.stdout}`);
      await vscode.commands.executeCommand("clarive.signOut");
      assert.equal(hooks.tokensState().kind, "signed-out");
    });
  });
  describe("exact remote configuration, with real git", () => {
    let apiKey: string;
    let secret: string;
    const folder = () => workspaceRepository.rootUri.fsPath;
    const clean = `${serverUrl}/git/acme/widgets.git`;
    const withToken = (token: string) => {
      const url = new URL(clean);
      url.username = "admin";
      url.password = token;
      return url.toString();
    };
    const getAll = async (key: string) => {
      const result = await run("git", ["config", "--local", "--get-all", key], folder());
      return result.stdout.split("\n").filter((line) => line.length > 0);
    };
    async function remoteShown(name: string): Promise<void> {
      await workspaceRepository.status();
      await until(() => workspaceRepository.state.remotes.some((remote) => remote.name === name), `vscode.git to see remote ${name}`);
    }

    before(async () => {
      apiKey = (await api<LoginResponse>("POST", "/auth/login", undefined, { username: "admin", password: adminPassword })).apiKey;
      secret = (
        await api<{ token: string }>("POST", "/tokens", apiKey, {
          description: "was in the URL",
          expiresInDays: 30,
          permission: "read-write",
        })
      ).token;
      ui.answer({ input: serverUrl }, { pick: "Username and password" }, { input: "admin" }, { input: adminPassword });
      assert.equal(await vscode.commands.executeCommand("clarive.signIn"), true);
    });

    it("starting from a token in the remote's URL: moves it to secret storage (asked first), one URL left, and git pushes", async () => {
      assert.equal((await run("git", ["remote", "add", "embedded", withToken(secret)], folder())).code, 0);
      await remoteShown("embedded");
      ui.answer(
        { pick: "embedded" },
        { pick: "acme/widgets" },
        { pick: "Move the token in the remote's URL to secret storage" },
        { pick: "VS Code secret storage (recommended)" },
      );
      const configured = await vscode.commands.executeCommand<{ url: string } | undefined>("clarive.configureGitRemote");
      assert.equal(ui.pending, 0);
      assert.equal(configured?.url, clean);
      assert.deepEqual(await getAll("remote.embedded.url"), [clean], "git config --get-all: one URL, without the token");
      assert.ok(!fs.readFileSync(path.join(folder(), ".git/config"), "utf8").includes("clapat_"), "no token in .git/config");
      assert.match(ui.messages("info").at(-1) ?? "", /that was in its URL is no longer in \.git\/config/);
      await workspaceRepository.push("embedded", "main", false);
      const local = (await run("git", ["rev-parse", "HEAD"], folder())).stdout.trim();
      const remote = (
        await run("git", ["--git-dir", path.join(reposDir, "acme/widgets.git"), "rev-parse", "refs/heads/main"])
      ).stdout.trim();
      assert.equal(remote, local, "pushed with the token from secret storage");
    });

    it("starting from a remote configured twice (two URLs and a push URL): one URL, no push URL", async () => {
      for (const args of [
        ["remote", "add", "twice", clean],
        ["config", "--add", "remote.twice.url", clean],
        ["config", "--add", "remote.twice.pushurl", "http://elsewhere.invalid/widgets.git"],
      ])
        assert.equal((await run("git", args, folder())).code, 0);
      await remoteShown("twice");
      ui.answer(
        { pick: "twice" },
        { pick: "acme/widgets" },
        { pick: "Keep the stored token" },
        { pick: "VS Code secret storage (recommended)" },
      );
      assert.ok(await vscode.commands.executeCommand("clarive.configureGitRemote"));
      assert.equal(ui.pending, 0);
      assert.deepEqual(await getAll("remote.twice.url"), [clean]);
      assert.deepEqual(await getAll("remote.twice.pushurl"), []);
      assert.deepEqual(await getAll(`credential.${serverUrl}.useHttpPath`), ["true"], "written once");
      assert.match(ui.messages("info").at(-1) ?? "", /its 2 URLs are now one; its push URL was removed/);
    });

    it("Remove Git Credentials really removes a token embedded in a remote's URLs", async () => {
      for (const args of [
        ["remote", "add", "leaky", clean],
        ["config", "--add", "remote.leaky.url", withToken(secret)],
      ])
        assert.equal((await run("git", args, folder())).code, 0);
      await remoteShown("leaky");
      ui.answer({ pickMany: [`${path.basename(folder())}: leaky`] });
      assert.equal(await vscode.commands.executeCommand("clarive.removeGitCredentials"), 1);
      assert.deepEqual(await getAll("remote.leaky.url"), [clean], "the token is gone from git's own view");
      assert.ok(!fs.readFileSync(path.join(folder(), ".git/config"), "utf8").includes("clapat_"));
    });

    it("Sign Out with stored credentials asks: Keep leaves git its token, Remove takes it away", async () => {
      ui.answer({ message: "Sign Out, Keep Them" });
      await vscode.commands.executeCommand("clarive.signOut");
      const asked = ui.prompts.find((p) => p.modal && p.text === `Sign out of ${serverUrl}?`);
      assert.match(asked?.detail ?? "", /git credentials? for this server (is|are) stored in VS Code's secret storage \(acme\/widgets\)/);
      assert.equal(hooks.tokensState().kind, "signed-out");
      assert.equal((await hooks.remoteStatus())?.text, "$(key) Clarive: signed out", "git still has its token");
      assert.deepEqual(await hooks.accounts(), [], "and the Accounts menu no longer lists it");

      ui.answer({ input: serverUrl }, { pick: "Username and password" }, { input: "admin" }, { input: adminPassword });
      assert.equal(await vscode.commands.executeCommand("clarive.signIn"), true);
      ui.answer({ message: "Sign Out and Remove Them" });
      await vscode.commands.executeCommand("clarive.signOut");
      assert.equal(ui.pending, 0);
      assert.equal(await hooks.remoteStatus(), undefined, "signed out and no token left for the remote");
    });
  });
});
