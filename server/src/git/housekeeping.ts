import type { Logger } from "pino";
import type { GitProcessHost, HousekeepingCommand } from "./processHost";

/**
 * The configuration every push's git receive-pack runs with while the service keeps house for it:
 * receive-pack would run `git gc --auto` between its report and the last byte of its answer, so
 * that every push's client waited for a program start and a look at the object store (~2–5 ms
 * a push here, more than the rest of the service's own work on the push).
 */
export const RECEIVE_PACK_WITHOUT_AUTOGC = { "receive.autogc": "false" } as const;

/**
 * git's automatic housekeeping after a push, run once the push has been answered: what
 * receive-pack would have run (`git gc --auto --quiet`, which packs loose objects and packs once
 * git's own thresholds say so, in the background by default), unless the repository's
 * configuration says `receive.autogc = false`, as receive-pack would honour. At most one run per
 * repository at a time: pushes meanwhile ask for one more run after it, not one each.
 */
export class Housekeeping {
  /** Repositories being looked after → whether another push came meanwhile. */
  private readonly wanted = new Map<string, boolean>();
  private readonly whenIdle: (() => void)[] = [];
  private stopped = false;
  private finishedRuns = 0;

  constructor(
    private readonly host: GitProcessHost,
    private readonly logger: Logger,
  ) {}

  /** After a push git accepted (receive-pack exited 0) into this bare repository. */
  afterPush(directory: string): void {
    if (this.stopped) return;
    if (this.wanted.has(directory)) {
      this.wanted.set(directory, true);
      return;
    }
    this.wanted.set(directory, false);
    void this.keepHouse(directory);
  }

  /** How many runs (one repository each) have finished, whatever they found to do. */
  get runs(): number {
    return this.finishedRuns;
  }

  /** Resolves once no housekeeping runs (tests; the drain on stop). */
  idle(): Promise<void> {
    if (this.wanted.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenIdle.push(resolve));
  }

  /**
   * No more runs start; resolves when the running ones are over, or after `waitMs` (a gc in the
   * foreground of a large repository can take long: the host then stops it, and git's repack
   * leaves the repository as it was until the next push's run).
   */
  async stop(waitMs = 5000): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  private async keepHouse(directory: string): Promise<void> {
    try {
      do {
        this.wanted.set(directory, false);
        if ((await this.output({ service: "autogc-setting", directory, env: { PATH: process.env.PATH } })).trim() === "true") {
          await this.output({ service: "gc-auto", directory, env: { PATH: process.env.PATH } });
        }
        this.finishedRuns++;
      } while (this.wanted.get(directory) === true && !this.stopped);
    } catch (error) {
      // A repository deleted meanwhile, a host restarting: the next push asks again.
      this.logger.warn({ err: error, repository: directory }, "git housekeeping after a push failed");
    } finally {
      this.wanted.delete(directory);
      if (this.wanted.size === 0) for (const resolve of this.whenIdle.splice(0)) resolve();
    }
  }

  /** What the command printed; throws if it failed. */
  private async output(command: HousekeepingCommand): Promise<string> {
    const run = await this.host.run(command);
    const chunks: Buffer[] = [];
    run.stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    run.stream.on("error", () => run.stream.destroy());
    const drained = new Promise((resolve) => run.stream.once("close", resolve));
    run.stream.end(); // nothing to read
    run.stream.resume();
    // Its exit (the host's message) can come before the last of its output (the connection).
    const [{ code, stderr }] = await Promise.all([run.exited, drained]);
    // git config exits 1 for a key it does not have: --default means it always has one.
    if (code !== 0) throw new Error(`git ${command.service} exited ${code}: ${stderr.trim().slice(0, 200)}`);
    return Buffer.concat(chunks).toString("utf8");
  }
}
