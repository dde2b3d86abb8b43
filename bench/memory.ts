/**
 * Resident memory of the service as `npm start` runs it: the whole process tree (npm, the
 * service's node, the git process host and the git programs it starts), idle and while git
 * works, on the embedded database (PGlite) and on Postgres. Prints figures, asserts nothing.
 * Run: npm run bench:memory
 *
 * "Idle" is sampled after the service has started and settled (BENCH_IDLE_MS), at its first
 * start in an empty folder (PGlite's initdb) and after a restart on the same folder. "During
 * git" samples every 50 ms while one client pushes a ~50 MiB repository, clones it
 * (BENCH_CLONES), runs no-op fetches (BENCH_FETCHES) and pushes 50 commits (BENCH_PUSHES),
 * as bench:git-http does. RSS counts pages shared between processes (node's own code) once
 * per process, as the goals do; PSS, which shares them out, is printed beside it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoginResponse } from "@clarive/shared";
import { Client } from "../test/support/client";
import { gitOk, tempDir } from "../test/support/git";
import { freePort, startPostgresCluster } from "../test/support/postgres";
import { processTree, type ProcessMemory } from "../test/support/processTree";
import { BENCH_ADMIN_PASSWORD, buildService, generateRepository, median, prepareRepository, printTable, stopChild } from "./lib";

const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const CLONES = Number(process.env.BENCH_CLONES ?? 3);
const FETCHES = Number(process.env.BENCH_FETCHES ?? 10);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 3);

interface Started {
  npm: ChildProcess;
  url: string;
  admin: Client;
}

/** `npm start` itself, in its own process group, on `dataDir`. */
async function npmStart(dataDir: string, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const npm = spawn("npm", ["start"], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}`);
    if (i > 1200) throw new Error("the service did not start within 2 minutes");
    const status = await fetch(`${url}/api/v1/openapi.json`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const login = await new Client(url).post<LoginResponse>("/auth/login", { username: "admin", password: BENCH_ADMIN_PASSWORD });
  return { npm, url, admin: new Client(url, login.body.apiKey) };
}

interface Sample {
  total: number;
  totalPss: number;
  withoutNpm: number;
  service: number;
  processes: ProcessMemory[];
}

function sample(root: number): Sample {
  const processes = processTree(root);
  const sum = (list: ProcessMemory[], key: "rssKb" | "pssKb") => list.reduce((s, p) => s + p[key], 0) / 1024;
  const service = processes.find((p) => p.command.includes("server/dist/main.js"));
  return {
    total: sum(processes, "rssKb"),
    totalPss: sum(processes, "pssKb"),
    withoutNpm: sum(
      processes.filter((p) => p.pid !== root),
      "rssKb",
    ),
    service: (service?.rssKb ?? 0) / 1024,
    processes,
  };
}

async function idle(root: number): Promise<Sample> {
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const samples: Sample[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(sample(root));
    await new Promise((r) => setTimeout(r, 200));
  }
  return samples.sort((a, b) => a.total - b.total)[2] as Sample;
}

/** Samples the tree every 50 ms while `work` runs: the peak sample, and the median of the totals. */
async function during(root: number, work: () => Promise<void>): Promise<{ peak: Sample; medianTotal: number; peakService: number }> {
  const samples: Sample[] = [];
  const timer = setInterval(() => samples.push(sample(root)), 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const peak = samples.reduce((a, b) => (b.total > a.total ? b : a));
  return { peak, medianTotal: median(samples.map((s) => s.total)), peakService: Math.max(...samples.map((s) => s.service)) };
}

async function gitWork(started: Started, source: string): Promise<void> {
  const token = await prepareRepository(started.admin, "bench", "memory");
  const url = new URL(`${started.url}/git/bench/memory.git`);
  url.username = "admin";
  url.password = token;
  const remote = url.toString();
  await gitOk(["push", "-q", remote, "main"], { cwd: source });
  for (let i = 0; i < CLONES; i++) {
    const dir = path.join(tempDir(), "clone.git");
    await gitOk(["clone", "-q", "--bare", remote, dir]);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  const work = path.join(tempDir(), "wc");
  await gitOk(["clone", "-q", remote, work]);
  for (let i = 0; i < FETCHES; i++) await gitOk(["fetch", "-q", "origin"], { cwd: work });
  for (let run = 0; run < PUSHES; run++) {
    await gitOk(["checkout", "-q", "-B", `memory-${run}`, "origin/main"], { cwd: work });
    for (let c = 0; c < 50; c++) {
      fs.writeFileSync(path.join(work, "log.txt"), `run ${run} commit ${c}\n`);
      await gitOk(["add", "log.txt"], { cwd: work });
      await gitOk(["commit", "-qm", `commit ${c}`], { cwd: work });
    }
    await gitOk(["push", "-q", "origin", `memory-${run}`], { cwd: work });
  }
  fs.rmSync(path.dirname(work), { recursive: true, force: true });
}

const mb = (n: number) => n.toFixed(0);
const describe = (s: Sample) =>
  s.processes.map((p) => `${p.command.split(" ").slice(0, 2).join(" ").slice(0, 40)} ${mb(p.rssKb / 1024)}`).join(", ");

buildService();
const source = await generateRepository(50, 1024 * 1024, "memory");
const rows: (string | number)[][] = [];
const details: string[] = [];
const record = (database: string, moment: string, s: Sample, extra = "") => {
  rows.push([database, moment, mb(s.total), mb(s.withoutNpm), mb(s.totalPss), mb(s.service), extra]);
  details.push(`${database}, ${moment}: ${describe(s)}`);
};

// PGlite: the first start (initdb in an empty folder), a restart on the same folder, then git.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-bench-memory-"));
try {
  let started = await npmStart(dataDir, {});
  record("PGlite", "idle, first start", await idle(started.npm.pid as number));
  await stopChild(started.npm);
  started = await npmStart(dataDir, {});
  const root = started.npm.pid as number;
  record("PGlite", "idle, restarted", await idle(root));
  const git = await during(root, () => gitWork(started, source));
  record("PGlite", "during git (peak)", git.peak, `median total ${mb(git.medianTotal)}, service peak ${mb(git.peakService)}`);
  record("PGlite", "idle after git", await idle(root));
  await stopChild(started.npm);
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}

// Postgres: the service only (the database is its own server).
const cluster = await startPostgresCluster();
const pgDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-bench-memory-"));
try {
  const started = await npmStart(pgDataDir, { DATABASE_URL: cluster.adminUrl });
  const root = started.npm.pid as number;
  record("Postgres", "idle", await idle(root));
  const git = await during(root, () => gitWork(started, source));
  record("Postgres", "during git (peak)", git.peak, `median total ${mb(git.medianTotal)}, service peak ${mb(git.peakService)}`);
  record("Postgres", "idle after git", await idle(root));
  await stopChild(started.npm);
} finally {
  fs.rmSync(pgDataDir, { recursive: true, force: true });
  cluster.stop();
  fs.rmSync(source, { recursive: true, force: true });
}

process.stdout.write(
  `npm start's process tree, resident MiB; ${CLONES} clones, ${FETCHES} fetches, ${PUSHES} pushes of 50 commits; ${new Date().toISOString()}\n`,
);
printTable(
  "resident memory (MiB): RSS of every process summed; PSS shares pages between processes out",
  ["database", "moment", "tree RSS", "without npm", "tree PSS", "service RSS", ""],
  rows,
);
process.stdout.write(`\nprocesses (RSS MiB):\n${details.map((d) => `  ${d}`).join("\n")}\n`);
