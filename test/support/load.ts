import { execFile } from "node:child_process";
import { gitEnv } from "./git";

/** One operation a load loop ran: when it started and ended (performance.now()), and how it went. */
export interface Operation {
  kind: string;
  /** Which client or instance ran it. */
  actor: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** The HTTP status (REST) or git's exit code. */
  status: number;
  /** Killed at the bound: a hang. */
  hung: boolean;
  detail: string;
}

export interface BoundedGitResult {
  code: number;
  stdout: string;
  stderr: string;
  hung: boolean;
}

/** Real git, killed (and reported as hung) if it runs longer than `boundMs`. */
export function boundedGit(args: string[], boundMs: number, cwd?: string): Promise<BoundedGitResult> {
  return new Promise((resolve) => {
    execFile(
      "git",
      args,
      { cwd, env: gitEnv(), timeout: boundMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const hung = error !== null && (error as { killed?: boolean }).killed === true;
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString(), hung });
      },
    );
  });
}

/** A REST call with a bound: the status and error code, or hung. */
export async function boundedFetch(
  url: string,
  init: RequestInit,
  boundMs: number,
): Promise<{ status: number; code: string | undefined; retryAfter: string | null; hung: boolean }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(boundMs) });
    const text = await response.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      code = undefined;
    }
    return { status: response.status, code, retryAfter: response.headers.get("retry-after"), hung: false };
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return { status: 0, code: undefined, retryAfter: null, hung: true };
    throw error;
  }
}

/** Runs `step` again and again until `stop()` says so, recording each operation. */
export async function loop(stop: () => boolean, step: () => Promise<Operation>, into: Operation[]): Promise<void> {
  while (!stop()) into.push(await step());
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 25 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The q-quantile (0..1) of some durations, in ms. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
