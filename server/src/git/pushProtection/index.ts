import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { GitAccess } from "../../gitAccess";
import type { Clock } from "../../lib/clock";
import { expiryNoticeFor } from "../../services/expiryNotices";
import {
  findLiveSecretsInPush,
  isPushProtected,
  recordLeakedTokens,
  type LeakFound,
  type PushContext,
} from "../../services/pushProtection";
import { writePushHooks } from "./hookFiles";
import { locateSecret } from "./locate";

interface RegisteredPush extends PushContext {
  repositoryPath: string;
}

interface HookReport {
  nonce: string;
  quarantine: string | null;
  tips: string[];
  candidates: string[];
}

interface HookAnswer {
  exitCode: 0 | 1;
  lines: string[];
}

export interface PushRegistration {
  /** For git's environment: the hook folder (core.hooksPath), how the hook reaches us, a notice. */
  env: Record<string, string>;
  /** The push is over: its hook can no longer report. */
  done(): void;
}

const MAX_REPORT_BYTES = 1024 * 1024;
const short = (commit: string) => commit.slice(0, 12);

/**
 * Push protection and notices inside git (DESIGN §5). Every push this service serves runs our
 * pre-receive hook (hookFiles.ts); a hook that finds token-shaped strings reports them over a
 * Unix socket in a private folder, quoting a one-time nonce that names the push. A live token
 * refuses the push before any ref moves, and is deactivated at once.
 */
export class PushProtection {
  private readonly pushes = new Map<string, RegisteredPush>();

  private constructor(
    private readonly deps: { db: Knex; gitAccess: GitAccess; logger: Logger; clock: Clock },
    private readonly directory: string,
    private readonly socketPath: string,
    private readonly server: net.Server,
  ) {}

  static async start(deps: { db: Knex; gitAccess: GitAccess; logger: Logger; clock: Clock }): Promise<PushProtection> {
    // mkdtemp makes the folder 0700: only this service's user can reach the socket.
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-hooks-"));
    writePushHooks(directory);
    const socketPath = path.join(directory, "hook.sock");
    // Half-open: the hook ends its side after the report and waits for our answer on the other.
    const server = net.createServer({ allowHalfOpen: true });
    const protection = new PushProtection(deps, directory, socketPath, server);
    server.on("connection", (socket) => protection.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, resolve);
    });
    return protection;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.directory, { recursive: true, force: true });
  }

  /**
   * Before git runs for a push: what its hook needs, and the owner's notice if the token expires
   * soon. With push protection off for the repository the hook only prints the notice. A database
   * that cannot say whether protection is on refuses the push (the error reaches the git route).
   */
  async register(push: RegisteredPush, token: { id: number; expiresAt: Date }): Promise<PushRegistration> {
    const env: Record<string, string> = {
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "core.hooksPath",
      GIT_CONFIG_VALUE_0: this.directory,
    };
    const notice = await this.notice(token);
    if (notice) env.CLARIVE_PUSH_NOTICE = notice;
    if (!(await isPushProtected(this.deps.db, push))) return { env, done: () => undefined };
    const nonce = randomBytes(24).toString("hex");
    this.pushes.set(nonce, push);
    Object.assign(env, {
      CLARIVE_HOOKS_DIR: this.directory,
      CLARIVE_HOOK_SOCKET: this.socketPath,
      CLARIVE_PUSH_NONCE: nonce,
      CLARIVE_NODE: process.execPath,
    });
    return { env, done: () => this.pushes.delete(nonce) };
  }

  private async notice(token: { id: number; expiresAt: Date }): Promise<string | null> {
    try {
      return await expiryNoticeFor(this.deps.db, token, new Date(this.deps.clock.now()));
    } catch (error) {
      // A notice is a courtesy: a push must not fail because it could not be prepared.
      this.deps.logger.warn({ err: error }, "could not prepare the expiry notice");
      return null;
    }
  }

  private serve(socket: net.Socket): void {
    let input = "";
    socket.setEncoding("utf8");
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: string) => {
      input += chunk;
      if (input.length > MAX_REPORT_BYTES) socket.destroy();
    });
    socket.on("end", () => {
      void this.answer(input).then((answer) => socket.end(`${JSON.stringify(answer)}\n`));
    });
  }

  private async answer(input: string): Promise<HookAnswer> {
    let report: HookReport;
    try {
      report = JSON.parse(input) as HookReport;
    } catch {
      return { exitCode: 1, lines: ["error: push protection could not read the hook's report; the push was refused"] };
    }
    const push = typeof report.nonce === "string" ? this.pushes.get(report.nonce) : undefined;
    if (!push || !Array.isArray(report.candidates) || !Array.isArray(report.tips)) {
      return { exitCode: 1, lines: ["error: this push is not one the service is serving; the push was refused"] };
    }
    try {
      return await this.check(push, report);
    } catch (error) {
      this.deps.logger.error({ err: error, repository: `${push.project}/${push.repository}` }, "push protection could not check a push");
      return { exitCode: 1, lines: ["error: push protection could not check this push, so it was refused; try again shortly"] };
    }
  }

  private async check(push: RegisteredPush, report: HookReport): Promise<HookAnswer> {
    const candidates = report.candidates.filter((c): c is string => typeof c === "string");
    const live = await findLiveSecretsInPush(this.deps.db, push, candidates, new Date(this.deps.clock.now()));
    if (live.length === 0) return { exitCode: 0, lines: [] };
    const objects = {
      repositoryPath: push.repositoryPath,
      quarantine: typeof report.quarantine === "string" ? report.quarantine : null,
      tips: report.tips.filter((t): t is string => typeof t === "string"),
    };
    const leaks: LeakFound[] = [];
    for (const secret of live) leaks.push({ ...secret, ...(await locateSecret(objects, secret.secret)) });
    await recordLeakedTokens(this.deps.db, push, leaks);
    // Refused everywhere before git prints the refusal (DESIGN §7).
    await this.deps.gitAccess.settleChanges();
    this.deps.logger.warn(
      { repository: `${push.project}/${push.repository}`, pusher: push.pusher, tokens: leaks.map((l) => l.hint) },
      "push refused: it carries a live token",
    );
    return { exitCode: 1, lines: refusalLines(leaks) };
  }
}

function refusalLines(leaks: LeakFound[]): string[] {
  const one = leaks.length === 1;
  return [
    `error: Push refused: it contains ${one ? "a live personal access token" : `${leaks.length} live personal access tokens`}. No ref was changed.`,
    ...leaks.map((l) => `error:   ${l.hint} in commit ${short(l.commit)}, ${l.path}`),
    `error: ${one ? "That token has" : "Those tokens have"} been deactivated: whoever saw ${one ? "it" : "them"} can no longer use ${one ? "it" : "them"}.`,
    "error: To push, remove the token from your commits and push again:",
    "error:   in the last commit: edit the file, then `git commit --amend`;",
    "error:   in an older one: `git rebase -i <commit>~1`, mark it `edit`, fix the file, `git commit --amend`, `git rebase --continue`.",
    "error: Keep secrets out of the repository (an environment variable or a credential helper), and create a new token if you need one.",
  ];
}
