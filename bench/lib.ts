import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CreatedTokenDto, LoginResponse } from "@clarive/shared";
import { Client } from "../test/support/client";
import { gitOk, tempDir } from "../test/support/git";
import { startNginx, type NginxFront } from "../test/support/nginx";
import { freePort } from "../test/support/postgres";

export const BENCH_ADMIN_PASSWORD = "bench-admin-password";

export interface ServiceProcess {
  url: string;
  dataDir: string;
  reposDir: string;
  admin: Client;
  /** The service's own process (node running server/dist/main.js). */
  pid: number;
  stop(): Promise<void>;
}

async function waitUntilUp(url: string, child: ChildProcess, what: string): Promise<void> {
  // Two minutes: a busy machine starts the service (PGlite's initdb, migrations) slowly.
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    // 503 while it starts (migrations, the first admin): not up yet.
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 0 && status !== 503) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start within two minutes`);
}

/** Stops a child started with `detached: true` and everything it started (npx → tsx → node). */
export async function stopChild(child: ChildProcess): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const exited = child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once("exit", r)) : null;
  signalGroup("SIGTERM");
  if (exited) await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  await new Promise((r) => setTimeout(r, 200));
  signalGroup("SIGKILL");
}

let built = false;

/** Builds the service as `npm install` does (prepare → server/build.mjs), once per bench run. */
export function buildService(): void {
  if (built) return;
  execFileSync(process.execPath, ["server/build.mjs"], { stdio: "inherit" });
  built = true;
}

/**
 * The service as its own process, as `npm start` runs it (`node server/dist/main.js`, built
 * first from the working tree). With TLS_CERT_FILE and TLS_KEY_FILE in `env` it is reached
 * over https (the caller's Node must trust the certificate's CA: NODE_EXTRA_CA_CERTS).
 */
export async function startService(env: Record<string, string> = {}): Promise<ServiceProcess> {
  buildService();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-bench-"));
  const port = await freePort();
  // BENCH_SERVICE_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") runs node with those
  // flags: NODE_OPTIONS refuses some of them.
  const nodeArgs = process.env.BENCH_SERVICE_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, "server/dist/main.js"], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const tls = env.TLS_CERT_FILE !== undefined && env.TLS_KEY_FILE !== undefined;
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  try {
    await waitUntilUp(`${url}/api/v1/openapi.json`, child, "the service");
  } catch (error) {
    // A build without native TLS ignores TLS_CERT_FILE and answers plain HTTP on the port.
    const plain = tls
      ? await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`).then(
          (r) => r.ok,
          () => false,
        )
      : false;
    await stopChild(child);
    if (plain) {
      throw new Error(
        "the service answered plain HTTP with TLS_CERT_FILE and TLS_KEY_FILE set: this build has no native TLS " +
          "(issue 15, point 1), so BENCH_TLS=1 cannot measure it",
        { cause: error },
      );
    }
    throw error;
  }
  const login = await new Client(url).post<LoginResponse>("/auth/login", { username: "admin", password: BENCH_ADMIN_PASSWORD });
  return {
    url,
    dataDir,
    reposDir: path.join(dataDir, "repos"),
    admin: new Client(url, login.body.apiKey),
    pid: child.pid as number,
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A plain Koa app answering 204: the baseline the auth hook is compared with. */
export async function startBareKoa(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  // node itself (tsx as a loader, not a wrapper process): its pid is the server's, for its CPU time.
  const child = spawn(process.execPath, ["--import", "tsx", "bench/bare-koa.ts"], {
    env: { ...process.env, PORT: String(port) },
    stdio: "inherit",
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(url, child, "bare Koa");
  return { url, pid: child.pid as number, stop: () => stopChild(child) };
}

/**
 * CPU time (user + system, all threads) a process has used so far, in microseconds, from
 * /proc/<pid>/stat (Linux; clock ticks of 10 ms).
 */
export function processCpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, so it is skipped by its closing bracket):
  // state is field 3, utime 14 and stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

// /proc counts in USER_HZ, 100 on every Linux architecture Node runs on (getconf CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100;

export async function prepareRepository(admin: Client, project: string, name: string): Promise<string> {
  await admin.put("/settings/git", { patAuthEnabled: true });
  await admin.post("/repositories", { project, name });
  const token = await admin.post<CreatedTokenDto>("/tokens", {
    description: "bench",
    expiresInDays: 30,
    permission: "read-write",
  });
  return token.body.token;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  process.stdout.write(`\n${title}\n${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n`);
  for (const r of cells.slice(1)) process.stdout.write(`${line(r)}\n`);
}

/** Incompressible but reproducible bytes: SHA-256 in counter mode from a fixed seed. */
export function deterministicBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, counter = 0; offset < length; counter++) {
    offset += createHash("sha256").update(`${seed}:${counter}`).digest().copy(out, offset);
  }
  return out;
}

const FIXED_DATE = "2026-01-01T00:00:00Z";
export const fixedDates = { GIT_AUTHOR_DATE: FIXED_DATE, GIT_COMMITTER_DATE: FIXED_DATE };

/** A working copy with one commit of `files` incompressible files of `fileBytes` each, fixed dates. */
export async function generateRepository(files: number, fileBytes: number, seed = "file"): Promise<string> {
  const dir = tempDir("clarive-bench-src-");
  await gitOk(["init", "-q", "-b", "main", dir]);
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, `data-${i}.bin`), deterministicBytes(`${seed}-${i}`, fileBytes));
  await gitOk(["add", "."], { cwd: dir });
  await gitOk(["commit", "-qm", "bench data"], { cwd: dir, env: fixedDates });
  return dir;
}

/** Bytes of the packs in a bare repository. */
export function packBytes(bare: string): number {
  const dir = path.join(bare, "objects", "pack");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".pack"))
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/**
 * The comparison: nginx + fcgiwrap + git http-backend with classic Basic auth (htpasswd, salted
 * SHA-1: user admin, password `token`) in front of the same repositories; over https with `tls`.
 */
export async function startBasicAuthNginx(reposDir: string, token: string, tls?: { cert: string; key: string }): Promise<NginxFront> {
  const prefixDir = tempDir("clarive-bench-htpasswd-");
  const salt = Buffer.from("benchsalt");
  const ssha = Buffer.concat([createHash("sha1").update(token).update(salt).digest(), salt]).toString("base64");
  fs.writeFileSync(path.join(prefixDir, "htpasswd"), `admin:{SSHA}${ssha}\n`);
  const nginxPort = await freePort();
  return startNginx(
    nginxPort,
    (socket) => `server {
      listen 127.0.0.1:${nginxPort}${tls ? " ssl" : ""};
      ${tls ? `ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key}; ssl_protocols TLSv1.2 TLSv1.3;` : ""}
      client_max_body_size 0;
      location ~ ^/git(/.*)$ {
        auth_basic "git";
        auth_basic_user_file ${prefixDir}/htpasswd;
        include fastcgi_params;
        fastcgi_pass unix:${socket};
        fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
        fastcgi_param GIT_PROJECT_ROOT ${reposDir};
        fastcgi_param GIT_HTTP_EXPORT_ALL "";
        fastcgi_param PATH_INFO $1;
        fastcgi_param REMOTE_USER $remote_user;
        fastcgi_param GIT_PROTOCOL $http_git_protocol if_not_empty;
        fastcgi_buffering off;
      }
    }`,
    { scheme: tls ? "https" : "http" },
  );
}
