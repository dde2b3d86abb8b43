import fs from "node:fs";
import type { Knex } from "knex";

/** Which smart-HTTP advertisement a request asks for: fetch/clone (read) or push (write). */
export type GitService = "git-upload-pack" | "git-receive-pack";

export const basicAuth = (user: string, token: string): string => `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}`;

export const infoRefsPath = (fullName: string, service: GitService): string => `/git/${fullName}.git/info/refs?service=${service}`;

/** What a git client's first request gets: `GET /git/<repo>.git/info/refs?service=…` with Basic auth. */
export async function infoRefsStatus(
  serverUrl: string,
  fullName: string,
  service: GitService,
  user: string,
  token: string,
): Promise<number> {
  const response = await fetch(`${serverUrl}${infoRefsPath(fullName, service)}`, {
    headers: { authorization: basicAuth(user, token) },
  });
  await response.arrayBuffer(); // drain, so the keep-alive connection is reused
  return response.status;
}

/** What nginx's auth_request asks before that same request. */
export async function hookStatus(serverUrl: string, fullName: string, service: GitService, user: string, token: string): Promise<number> {
  const response = await fetch(`${serverUrl}/api/v1/git/auth`, {
    headers: {
      authorization: basicAuth(user, token),
      "X-Original-URI": infoRefsPath(fullName, service),
      "X-Original-Method": "GET",
    },
  });
  await response.arrayBuffer();
  return response.status;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` once `ms` passed (so a hung call fails the test, not the suite). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `probe` every `everyMs` until it returns true or `withinMs` passed; true if it did. */
export async function pollUntil(probe: () => boolean | Promise<boolean>, withinMs: number, everyMs = 20): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    if (await probe()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

/** Backends of the current database whose last statement was a LISTEN (each instance's feed). */
export async function listenBackends(knex: Knex): Promise<number[]> {
  const result = await knex.raw<{ rows: { pid: number }[] }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%' AND pid <> pg_backend_pid() ORDER BY backend_start",
  );
  return result.rows.map((row) => row.pid);
}

/** Whether a local process is stopped (SIGSTOP): state T in /proc/<pid>/stat. Gone counts as not stopped. */
export function isStopped(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S …": the state follows the last ')' (comm may contain spaces or parentheses).
    return /^\s*[Tt]/.test(stat.slice(stat.lastIndexOf(")") + 1));
  } catch {
    return false;
  }
}

/**
 * Freezes Postgres backends (they are local processes; the tests run as root) and remembers
 * them, so that `resumeAll` — called from a finally, from after() and at process exit — can
 * always let them go: a stopped backend would hang the cluster's shutdown.
 */
export class BackendFreezer {
  private readonly frozen = new Set<number>();
  private readonly onExit = () => this.resumeAll();

  constructor() {
    process.on("exit", this.onExit);
  }

  get pids(): number[] {
    return [...this.frozen];
  }

  stop(pid: number): void {
    this.frozen.add(pid); // first: a throw below must still lead to a SIGCONT
    process.kill(pid, "SIGSTOP");
  }

  resumeAll(): void {
    for (const pid of this.frozen) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        // already gone
      }
    }
    this.frozen.clear();
  }

  dispose(): void {
    this.resumeAll();
    process.off("exit", this.onExit);
  }
}
