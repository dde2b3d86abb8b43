import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";

const CHILD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "processHostChild.mjs");

/** git's program for one request: upload-pack or receive-pack, in stateless-RPC mode. */
export interface GitServiceCommand {
  service: "upload-pack" | "receive-pack";
  /** The advertisement (GET info/refs): --http-backend-info-refs. */
  advertise: boolean;
  /** The bare repository's absolute path. */
  directory: string;
  env: NodeJS.ProcessEnv;
}

/** For push protection: `git cat-file --batch --batch-all-objects` over a push's quarantine folder alone. */
export interface QuarantinedObjectsCommand {
  service: "quarantined-objects";
  /** The bare repository's absolute path. */
  directory: string;
  /** Its push's quarantine folder (absolute): GIT_OBJECT_DIRECTORY, with no alternates. */
  quarantine: string;
  env: NodeJS.ProcessEnv;
}

/**
 * git's housekeeping after a push (housekeeping.ts), in the bare repository: `git config
 * --type=bool --default=true --get receive.autogc` (whether the repository wants it), and
 * `git gc --auto --quiet` (what receive-pack would have run).
 */
export interface HousekeepingCommand {
  service: "autogc-setting" | "gc-auto";
  /** The bare repository's absolute path. */
  directory: string;
  env: NodeJS.ProcessEnv;
}

/** What the host runs: nothing but these. */
export type GitCommand = GitServiceCommand | QuarantinedObjectsCommand | HousekeepingCommand;

export interface GitRun {
  /**
   * Connected to git's stdin and stdout: request body in, git's answer out. Paused: call
   * resume() (or pipe it) once listening.
   */
  stream: net.Socket;
  /** git's exit code and the start of its stderr, once it has exited. */
  exited: Promise<{ code: number | null; stderr: string }>;
  /** Stops git now (the client has gone away). */
  kill(): void;
}

/**
 * Starts `git upload-pack` / `git receive-pack` processes through a small companion process (see
 * processHostChild.mjs for why), restarting it if it ever dies.
 */
export class GitProcessHost {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly socketDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-git-host-"));
  private readonly socketPath = path.join(this.socketDir, "host.sock");
  private readonly pending = new Map<number, (result: { code: number | null; stderr: string }) => void>();
  private readonly starting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  private nextId = 1;
  private stopped = false;
  /** Whether the host has said it is ready (and not exited since). */
  private isReady = false;
  /**
   * A connection to the host made ahead of the next run, so that a run's header reaches the host
   * at once, in the same turn as the request that asked for git (not one event-loop turn later,
   * which on a busy loop, such as a push's check in slices, is a millisecond or more).
   */
  private spare: net.Socket | undefined;
  private spareComing = false;
  private spareListeners = () => undefined as void;

  constructor(private readonly logger: Logger) {}

  private start(): Promise<void> {
    fs.rmSync(this.socketPath, { force: true });
    const child = fork(CHILD_SCRIPT, [this.socketPath], { execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.on("message", (message: { ready?: boolean; id?: number; started?: boolean; code?: number | null; stderr?: string }) => {
        if (message.ready) {
          this.isReady = true;
          this.prepareSpare();
          return resolve();
        }
        if (message.id === undefined) return;
        if (message.started) {
          this.starting.get(message.id)?.resolve();
          this.starting.delete(message.id);
          return;
        }
        // Ended before it started (the host refused the command, or git could not be started):
        // the connection, paused until then, would never report its end.
        this.starting.get(message.id)?.reject(new Error(`git did not start: ${message.stderr ?? "unknown reason"}`));
        this.starting.delete(message.id);
        this.pending.get(message.id)?.({ code: message.code ?? null, stderr: message.stderr ?? "" });
        this.pending.delete(message.id);
      });
      child.once("exit", (code, signal) => {
        this.isReady = false;
        this.spare?.destroy(); // its connection led to this host
        reject(new Error(`git process host exited (${code ?? signal})`));
        for (const settle of this.pending.values()) settle({ code: null, stderr: "git process host exited" });
        this.pending.clear();
        for (const start of this.starting.values()) start.reject(new Error("git process host exited"));
        this.starting.clear();
        if (!this.stopped) {
          this.logger.error({ code, signal }, "git process host exited; restarting it");
          void this.start().catch(() => undefined);
        }
      });
    });
    return this.ready;
  }

  /** Starts the host now rather than at the first git request. */
  async ensureStarted(): Promise<void> {
    await (this.ready ?? this.start());
  }

  /** Connected to the host's socket. */
  private async connect(): Promise<net.Socket> {
    const stream = net.connect({ path: this.socketPath, allowHalfOpen: true });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once("connect", resolve);
        stream.once("error", reject);
      });
    } catch (error) {
      stream.destroy();
      throw error;
    }
    return stream;
  }

  /** One connection ready for the next run (nothing if one is on its way or the host is not up). */
  private prepareSpare(): void {
    if (this.stopped || !this.isReady || this.spare || this.spareComing) return;
    this.spareComing = true;
    this.connect().then(
      (stream) => {
        this.spareComing = false;
        if (this.stopped || !this.isReady) return void stream.destroy();
        // The host went away (and is restarting): this connection leads nowhere. Half-open
        // allowed, its end alone does not close it: closed here, so the next host gets a spare.
        const onClose = () => {
          if (this.spare !== stream) return;
          this.spare = undefined;
          this.prepareSpare(); // for the host that is up now, if one is
        };
        const onEnd = () => stream.destroy();
        const onError = () => stream.destroy();
        stream.once("close", onClose);
        stream.once("end", onEnd);
        stream.on("error", onError);
        stream.resume(); // read, so that its end is seen (the host sends nothing before git)
        this.spareListeners = () => {
          stream.off("close", onClose);
          stream.off("end", onEnd);
          stream.off("error", onError);
          stream.pause();
        };
        this.spare = stream;
      },
      () => {
        this.spareComing = false; // the next run connects itself
      },
    );
  }

  /** The spare connection, if there is one that is still open; another is prepared meanwhile. */
  private takeSpare(): net.Socket | undefined {
    const stream = this.spare;
    if (stream) this.spareListeners(); // this spare's, before another replaces them
    this.spare = undefined;
    this.prepareSpare();
    if (!stream) return undefined;
    if (stream.destroyed || stream.readyState !== "open") {
      stream.destroy();
      return undefined;
    }
    return stream;
  }

  async run(command: GitCommand): Promise<GitRun> {
    const id = this.nextId++;
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => this.pending.set(id, resolve));
    let stream: net.Socket;
    try {
      // A spare connection: the header below is written before this function first waits.
      stream = this.takeSpare() ?? (await this.ensureStarted().then(() => this.connect()));
    } catch (error) {
      this.pending.delete(id);
      throw error;
    }
    try {
      // Nothing but the header may be sent before git has the connection: the host would read it.
      const started = new Promise<void>((resolve, reject) => {
        this.starting.set(id, { resolve, reject });
        stream.once("close", () => reject(new Error("git process host closed the connection")));
      });
      stream.pause();
      stream.write(`${JSON.stringify({ id, command })}\n`);
      await started;
    } catch (error) {
      this.starting.delete(id);
      stream.destroy();
      this.pending.delete(id);
      throw error;
    }
    return { stream, exited, kill: () => this.kill(id) };
  }

  private kill(id: number): void {
    // A host that has gone cannot be asked (its git processes end with their connections), and
    // send() on a closed channel would emit an error nobody listens to.
    const child = this.child;
    if (child?.connected) child.send({ kill: id }, (error) => error && this.logger.warn({ err: error }, "could not stop git"));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.spare?.destroy();
    this.spare = undefined;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(this.socketDir, { recursive: true, force: true });
  }
}
