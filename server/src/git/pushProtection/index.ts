import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { redactSecrets } from "@clarive/shared";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { GitAccess } from "../../gitAccess";
import type { Clock } from "../../lib/clock";
import type { BodyPrecheck } from "../checkedPush";
import { withGitConfig } from "../gitConfigEnv";
import type { GitProcessHost } from "../processHost";
import { expiryNoticeFor } from "../../services/expiryNotices";
import { findLiveSecretsInPush, recordLeakedTokens, type LeakFound, type PushContext } from "../../services/pushProtection";
import { hasOwnPushHooks, writePushHooks } from "./hookFiles";
import { CHECK_BEFORE_GIT_UP_TO_BYTES, isProvenCleanInSlices, pushCommandsEnd } from "./requestPack";
import { gitEnvironmentFor, locateSecret } from "./locate";
import { MAX_CANDIDATES, objectsAlreadyStored, scanQuarantine, TOKEN_SHAPE, TooManyCandidatesError } from "./scan";

interface PushProtectionDeps {
  db: Knex;
  gitAccess: GitAccess;
  /** Starts the scan's git process (see scanQuarantine). */
  gitHost: GitProcessHost;
  logger: Logger;
  clock: Clock;
}

interface RegisteredPush extends PushContext {
  repositoryPath: string;
}

interface HookReport {
  nonce: string;
  quarantine: string;
  tips: string[];
  /** The refs the push creates or moves: a token in a branch or tag name is a leak too. */
  refs: string[];
}

interface HookAnswer {
  accept: boolean;
  lines: string[];
}

export interface PushRegistration {
  /** For git's environment: the hook folder (core.hooksPath), how the hook reaches us, a notice. */
  env: Record<string, string>;
  /** The push is over: its hook can no longer report. */
  done(): void;
  /** With push protection on: how a request body can be proven clean before git needs the hook. */
  precheck?: BodyPrecheck;
}

/** Before the nonce is known: a nonce line is 49 bytes. */
const MAX_UNKNOWN_BYTES = 1024;
/** A push's tips and ref names (a mirror push of many thousand tags is several MB). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
const REPORT_TIMEOUT_MS = 60_000;
/** Stands for "a ref name" where a candidate's objects are listed: no stored object has this id. */
const REF_NAME = "ref-name";
const short = (commit: string) => commit.slice(0, 12);

/**
 * Push protection and notices inside git (DESIGN §5). Every push this service serves runs our
 * pre-receive hook (hookFiles.ts) unless its request body was proven clean before git needed it
 * (requestPack.ts). With protection on, the hook connects to a loopback port and
 * quotes a one-time nonce naming the push (anyone else reaching the port knows none); the
 * service then scans the push's quarantine (scan.ts). A live token refuses the push before any
 * ref moves, and is deactivated at once.
 */
export class PushProtection {
  private readonly pushes = new Map<string, RegisteredPush>();
  /**
   * Pushes checked so far (GET /metrics): proven clean from the request body before git, or
   * checked by the hook in git's quarantine; and the time each way took (the body's, proven
   * clean or not, runs while git starts).
   */
  readonly checks = { requestBody: 0, quarantine: 0, requestBodyMs: 0, quarantineMs: 0 };

  private constructor(
    private readonly deps: PushProtectionDeps,
    private readonly directory: string,
    private readonly hooks: { plain: string; chained: string },
    private readonly port: number,
    private readonly server: net.Server,
  ) {}

  static async start(deps: PushProtectionDeps): Promise<PushProtection> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-hooks-"));
    const hooks = writePushHooks(directory);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const protection = new PushProtection(deps, directory, hooks, (server.address() as net.AddressInfo).port, server);
    server.on("connection", (socket) => protection.serve(socket));
    return protection;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.directory, { recursive: true, force: true });
  }

  /**
   * Before git runs for a push: what its hook needs, and the owner's notice if the token expires
   * soon. With push protection off for the repository the hook only prints the notice (no hook
   * at all without one). With it on, also the precheck: a small push proven clean from its
   * request body needs no hook (requestPack.ts, checkedPush.ts runChecked). A database that
   * cannot say whether protection is on refuses the push (the error reaches the git route).
   */
  async register(push: RegisteredPush, token: { id: number; expiresAt: Date }): Promise<PushRegistration> {
    const env = withGitConfig<string>(
      {},
      // Our hooks replace the repository's folder: where it has hooks of its own, ours run them.
      { "core.hooksPath": hasOwnPushHooks(push.repositoryPath) ? this.hooks.chained : this.hooks.plain },
    );
    const notice = await this.notice(token);
    if (notice) env.CLARIVE_PUSH_NOTICE = notice;
    // From the facts git access keeps (fresh across instances, as its decisions are): no query
    // per push. Unknown (the repository went away meanwhile): scanned, the safe side.
    if ((await this.deps.gitAccess.isPushProtected(push.project, push.repository)) === false) {
      // Nothing for our hook to do: git runs the repository's own hooks as usual.
      return { env: notice ? env : {}, done: () => undefined };
    }
    const precheck: BodyPrecheck = {
      maxBytes: CHECK_BEFORE_GIT_UP_TO_BYTES,
      env: notice ? { ...env } : {},
      commandsEnd: pushCommandsEnd,
      isClean: async (body, abandoned, readUpTo) => {
        const spent = { ms: 0 };
        const clean = await isProvenCleanInSlices(body, push.repositoryPath, { spent, abandoned, readUpTo });
        this.checks.requestBodyMs += spent.ms;
        if (clean) this.checks.requestBody++;
        return clean;
      },
    };
    const nonce = randomBytes(24).toString("hex");
    this.pushes.set(nonce, push);
    Object.assign(env, { CLARIVE_HOOK_PORT: String(this.port), CLARIVE_PUSH_NONCE: nonce });
    return { env, done: () => this.pushes.delete(nonce), precheck };
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

  /** The hook sends four lines (nonce, quarantine folder, new tips, their refs) and reads the verdict, then git's lines. */
  private serve(socket: net.Socket): void {
    const chunks: string[] = [];
    let size = 0;
    let newlines = 0;
    socket.setEncoding("latin1");
    socket.on("error", () => socket.destroy());
    // The hook sends its report at once; a connection that sends nothing is not left open.
    socket.setTimeout(REPORT_TIMEOUT_MS, () => socket.destroy());
    let known = false;
    const onData = (chunk: string) => {
      chunks.push(chunk);
      size += chunk.length;
      const before = newlines;
      for (let at = chunk.indexOf("\n"); at >= 0; at = chunk.indexOf("\n", at + 1)) newlines++;
      // Only a push's own hook may send much: it names the push first (read once, on its first line).
      if (before === 0 && newlines > 0) {
        const all = chunks.join("");
        known = this.pushes.has(all.slice(0, all.indexOf("\n")));
      }
      if (size > (known ? MAX_REPORT_BYTES : MAX_UNKNOWN_BYTES)) return socket.destroy();
      if (newlines < 4) return;
      socket.off("data", onData);
      socket.setTimeout(0); // the scan may take a while: the hook waits for it
      const [nonce = "", quarantine = "", tips = "", refs = ""] = chunks.join("").split("\n");
      const words = (line: string) => line.split(" ").filter(Boolean);
      void this.answer({ nonce, quarantine, tips: words(tips), refs: words(refs) }).then((answer) =>
        socket.end([answer.accept ? "accept" : "refuse", ...answer.lines, ""].join("\n")),
      );
    };
    socket.on("data", onData);
  }

  private async answer(report: HookReport): Promise<HookAnswer> {
    const push = this.pushes.get(report.nonce);
    if (!push) return { accept: false, lines: ["error: this push is not one the service is serving; the push was refused"] };
    const start = performance.now();
    try {
      return await this.check(push, report);
    } catch (error) {
      if (error instanceof TooManyCandidatesError) return { accept: false, lines: tooManyLines() };
      this.deps.logger.error({ err: error, repository: `${push.project}/${push.repository}` }, "push protection could not check a push");
      return { accept: false, lines: ["error: push protection could not check this push, so it was refused; try again shortly"] };
    } finally {
      this.checks.quarantineMs += performance.now() - start;
    }
  }

  private async check(push: RegisteredPush, report: HookReport): Promise<HookAnswer> {
    this.checks.quarantine++;
    const objects = { repositoryPath: push.repositoryPath, quarantine: report.quarantine, tips: report.tips };
    const env = gitEnvironmentFor(objects);
    if (!env?.GIT_OBJECT_DIRECTORY) throw new Error(`not a quarantine folder of ${push.repositoryPath}: ${report.quarantine}`);
    const candidates = [
      ...(await scanQuarantine(this.deps.gitHost, push.repositoryPath, env.GIT_OBJECT_DIRECTORY)),
      ...tokensInRefNames(report),
    ];
    if (candidates.length === 0) return { accept: true, lines: [] };
    let live = await findLiveSecretsInPush(
      this.deps.db,
      push,
      candidates.map((c) => c.secret),
      new Date(this.deps.clock.now()),
    );
    if (live.length === 0) return { accept: true, lines: [] };
    // git may send objects the repository has (the bases of a thin pack): only what is new counts.
    const foundIn = new Map(candidates.map((c) => [c.secret, c.objectIds]));
    const stored = await objectsAlreadyStored(push.repositoryPath, [...new Set(live.flatMap((l) => foundIn.get(l.secret) ?? []))]);
    live = live.filter((l) => (foundIn.get(l.secret) ?? []).some((id) => !stored.has(id)));
    if (live.length === 0) return { accept: true, lines: [] };
    const leaks: LeakFound[] = [];
    for (const secret of live) {
      const inRef = report.refs.findIndex((ref) => ref.includes(secret.secret));
      const where =
        inRef >= 0
          ? { commit: report.tips[inRef] ?? "unknown", path: `(the name of ${redactSecrets(report.refs[inRef] ?? "")})` }
          : await locateSecret(objects, secret.secret, foundIn.get(secret.secret) ?? []);
      // A path can itself hold a token (a file named after one): only hints leave the service.
      leaks.push({ ...secret, ...where, path: redactSecrets(where.path) });
    }
    await recordLeakedTokens(this.deps.db, push, leaks);
    // Refused everywhere before git prints the refusal (DESIGN §7).
    await this.deps.gitAccess.settleChanges();
    this.deps.logger.warn(
      { repository: `${push.project}/${push.repository}`, pusher: push.pusher, tokens: leaks.map((l) => l.hint) },
      "push refused: it carries a live token",
    );
    return { accept: false, lines: refusalLines(leaks) };
  }
}

/** Ref names are searched as text; they are not objects, so "already stored" never applies (see REF_NAME). */
function tokensInRefNames(report: HookReport): { secret: string; objectIds: string[] }[] {
  return report.refs.flatMap((ref) => [...ref.matchAll(TOKEN_SHAPE)].map(([secret]) => ({ secret, objectIds: [REF_NAME] })));
}

/** Checking only some of them would let a live token hide behind generated look-alikes. */
function tooManyLines(): string[] {
  return [
    `error: Push refused: it carries more than ${MAX_CANDIDATES} different strings shaped like personal access tokens`,
    "error: (with valid checksums), more than push protection checks in one push. No ref was changed.",
    "error: Push them in smaller parts, or ask an administrator to turn push protection off for this repository.",
  ];
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
