/**
 * Through the UI, as a user: headless Chromium (playwright-core) on code-server with the packaged
 * .vsix installed. Opens the Clarive view, signs in from the welcome view, creates a token through
 * the real input boxes and quick picks, copies it from the modal, sees it in the tree, and saves a
 * screenshot (extension/media/screenshot.png with CLARIVE_UPDATE_SCREENSHOT=1, for the README).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { isWellFormedPersonalAccessToken, type LoginResponse } from "@clarive/shared";
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
  type RunningCodeServer,
  type RunningService,
  type Workbench,
} from "../support/harness";
import { restCall } from "../support/rest";

const execFileAsync = promisify(execFile);

describe("Clarive view through the UI (code-server + Chromium)", function () {
  this.timeout(180_000);
  const logDir = path.join(CACHE, "logs", `ui-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  let service: RunningService;
  let codeServer: RunningCodeServer;
  let workbench: Workbench;
  let page: Page;
  let workspace: string | undefined;

  const rest = <T>(method: string, route: string, apiKey: string | undefined, body?: unknown): Promise<T> =>
    restCall<T>(service.url, method, route, apiKey, body);

  const quickInput = () => page.locator(".quick-input-widget");
  /**
   * Waits for the input box or quick pick showing `expect` (its title or prompt), types into it
   * (a quick pick filters) and presses Enter.
   */
  async function answer(text: string | undefined, expect: RegExp): Promise<void> {
    await page.locator(".quick-input-widget", { hasText: expect }).waitFor({ state: "visible" });
    const box = quickInput().locator("input.input");
    if (text !== undefined) await box.fill(text);
    await box.press("Enter");
  }

  before(async function () {
    const unavailable = editorUnavailable();
    if (unavailable) throw new Error(unavailable);
    fs.mkdirSync(logDir, { recursive: true });
    await packageExtension();
    service = await startService(logDir);
    const admin = await rest<LoginResponse>("POST", "/auth/login", undefined, { username: "admin", password: ADMIN_PASSWORD });
    await rest("POST", "/repositories", admin.apiKey, { project: "acme", name: "widgets" });
    await rest("POST", "/repositories", admin.apiKey, { project: "acme", name: "gears" });
    await rest("PUT", "/settings/git", admin.apiKey, { patAuthEnabled: true });
    // A few tokens so the tree (and the screenshot) shows each look: expiring soon, read-only, inactive.
    await rest("POST", "/tokens", admin.apiKey, {
      description: "CI deploy",
      expiresInDays: 7,
      repositories: ["acme/gears"],
      permission: "read",
    });
    const old = await rest<{ id: number }>("POST", "/tokens", admin.apiKey, {
      description: "old desktop",
      expiresInDays: 90,
      permission: "read-write",
    });
    await rest("PATCH", `/tokens/${old.id}`, admin.apiKey, { active: false });
    workspace = await gitWorkspace();
    codeServer = await startCodeServer({
      workspace,
      logDir,
      settings: {
        "workbench.colorTheme": "Default Dark Modern",
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": true,
      },
    });
    workbench = await openWorkbench(codeServer, logDir);
    page = workbench.page;
  });

  after(async function () {
    if (this.currentTest?.state === "failed" && page)
      await page.screenshot({ path: path.join(logDir, "failure.png") }).catch(() => undefined);
    await workbench?.close();
    await codeServer?.stop();
    await service?.stop();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") await page.screenshot({ path: path.join(logDir, "failure.png") }).catch(() => undefined);
  });

  it("opens the Clarive view and signs in from its welcome view", async () => {
    await page.getByRole("tab", { name: /^Clarive/ }).click({ timeout: 60_000 });
    const signIn = page.getByRole("button", { name: "Sign in to a Clarive server" });
    await signIn.click({ timeout: 30_000 });
    await answer(service.url, /Sign in to Clarive \(1\/3\)/);
    await answer("Username and password", /Sign in to Clarive \(2\/3\)/);
    await answer("admin", /Sign in to Clarive \(3\/3\)/);
    await answer(ADMIN_PASSWORD, /Password of admin/);
    await page.locator(".notifications-toasts", { hasText: "Signed in to" }).waitFor({ timeout: 30_000 });
    // .first(): the Tokens view; an administrator's All Tokens view below lists the same token again.
    await page
      .getByRole("treeitem", { name: /^CI deploy/ })
      .first()
      .waitFor({ timeout: 30_000 });
  });

  it("creates a token through the real input boxes, copies it from the modal, and shows it in the tree", async () => {
    // The view's title actions (a lone view shows them in the side bar's title).
    await page.locator(".part.sidebar").hover();
    await page.locator(".part.sidebar").getByRole("button", { name: "Create Token" }).click();
    await answer("ui laptop", /Create Token \(1\/4\)/);
    await answer(undefined, /Create Token \(2\/4\)/); // 30 days, the first choice
    await answer("Selected repositories", /Create Token \(3\/4\)/);
    // The multi-pick: tick acme/widgets by filtering to it, then accept.
    await quickInput()
      .locator(".quick-input-title", { hasText: /Create Token \(3\/4\)/ })
      .waitFor();
    await quickInput()
      .locator(".monaco-list-row", { hasText: "acme/widgets" })
      .locator(".monaco-checkbox, input[type=checkbox]")
      .first()
      .click();
    await quickInput().locator("input.input").press("Enter");
    await answer(undefined, /Create Token \(4\/4\)/); // Read & write, the first choice

    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ timeout: 30_000 });
    const text = await dialog.innerText();
    const secret = /clapat_[0-9A-Za-z]{36}/.exec(text)?.[0];
    assert.ok(secret && isWellFormedPersonalAccessToken(secret), `the modal shows the token once:\n${text}`);
    assert.equal(await dialog.getByRole("button", { name: "Close", exact: true }).count(), 1, "the dialog closes…");
    assert.equal(await dialog.getByRole("button", { name: "Cancel", exact: true }).count(), 0, "…it does not cancel");
    await dialog.getByRole("button", { name: "Copy", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    // Runs in the page: the browser clipboard VS Code for the web writes to.
    const clipboard = await page.evaluate<string>("navigator.clipboard.readText()");
    assert.equal(clipboard, secret, "the token is on the clipboard");

    const row = page.getByRole("treeitem", { name: /^ui laptop/ }).first();
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.innerText(), /expires in (29|30) days · read & write · acme\/widgets/);

    const remote = new URL(`${service.url}/git/acme/widgets.git`);
    remote.username = "admin";
    remote.password = secret;
    await execFileAsync("git", ["ls-remote", remote.toString()], {
      env: { PATH: process.env.PATH, GIT_TERMINAL_PROMPT: "0", HOME: logDir },
    });

    // Widen the side bar so descriptions show in full, then hover the new token for its tooltip.
    const sash = page.locator(".part.sidebar").boundingBox();
    const box = await sash;
    if (box) {
      await page.mouse.move(box.x + box.width + 1, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width + 260, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
    }
    // Expanded to its details (permission, repositories, expiry date, last use), then hovered for the tooltip.
    await row.click();
    await page
      .getByRole("treeitem", { name: /^Permission: read & write/ })
      .first()
      .waitFor({ timeout: 15_000 });
    await row.hover();
    await page.waitForTimeout(1500); // let the hover tooltip and inline actions settle for the picture
    const shot = path.join(logDir, "screenshot.png");
    await page.screenshot({ path: shot });
    if (process.env.CLARIVE_UPDATE_SCREENSHOT === "1") fs.copyFileSync(shot, path.join(ROOT, "extension/media/screenshot.png"));
  });
});
