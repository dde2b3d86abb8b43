/**
 * Two builds of the service side by side on this machine at the same time: clones of a 50 MiB
 * repository, no-op fetches and pushes of 50 commits, alternating A B / B A, each build with its
 * own PGlite. For a change on the git path when the machine is too busy for ratios against nginx
 * to mean much. Prints medians and the median of B/A over the pairs (time: below 1 is faster).
 * Run: BENCH_A=/tmp/old/server/dist/main.js npm run bench:ab   (B: this working tree, built)
 *   e.g. git worktree add --detach /tmp/old <commit>; ln -s "$PWD/node_modules" /tmp/old/;
 *        (cd /tmp/old && node server/build.mjs)
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoginResponse } from "@clarive/shared";
import { Client } from "../test/support/client";
import { gitOk, tempDir } from "../test/support/git";
import { freePort } from "../test/support/postgres";
import { BENCH_ADMIN_PASSWORD, buildService, generateRepository, median, prepareRepository, stopChild } from "./lib";

async function start(main: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-ab-"));
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    const s = await fetch(`${url}/api/v1/openapi.json`).then(
      (r) => r.status,
      () => 0,
    );
    if (s === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const login = await new Client(url).post<LoginResponse>("/auth/login", { username: "admin", password: BENCH_ADMIN_PASSWORD });
  const admin = new Client(url, login.body.apiKey);
  const token = await prepareRepository(admin, "bench", "big");
  const u = new URL(`${url}/git/bench/big.git`);
  u.username = "admin";
  u.password = token;
  return { child, dataDir, remote: u.toString(), bare: path.join(dataDir, "repos", "bench", "big.git") };
}
const timed = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const source = await generateRepository(50, 1024 * 1024, "ab");
const [mainA, mainB = "server/dist/main.js"] = [process.env.BENCH_A, process.env.BENCH_B];
if (!mainA) throw new Error("BENCH_A=<path to another build's server/dist/main.js> (e.g. from a git worktree of an older commit)");
if (!process.env.BENCH_B) buildService();
const targets = [await start(mainA), await start(mainB)];
for (const t of targets) {
  await gitOk(["push", "-q", t.remote, "main"], { cwd: source });
  await gitOk(["--git-dir", t.bare, "repack", "-adq"]);
}
const clones: number[][] = [[], []],
  fetches: number[][] = [[], []],
  pushes: number[][] = [[], []];
const turns = (i: number) => (i % 2 ? [1, 0] : [0, 1]);
for (let i = 0; i < Number(process.env.BENCH_CLONES ?? 8); i++)
  for (const t of turns(i)) {
    const dir = path.join(tempDir(), "c.git");
    clones[t]!.push(await timed(() => gitOk(["clone", "-q", "--bare", targets[t]!.remote, dir])));
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
const work = await Promise.all(
  targets.map(async (t) => {
    const d = path.join(tempDir(), "wc");
    await gitOk(["clone", "-q", t.remote, d]);
    return d;
  }),
);
for (let i = 0; i < 40; i++)
  for (const t of turns(i)) fetches[t]!.push(await timed(() => gitOk(["fetch", "-q", "origin"], { cwd: work[t] })));
for (let run = 0; run < 8; run++)
  for (const t of turns(run)) {
    const cwd = work[t]!;
    await gitOk(["checkout", "-q", "-B", `b${run}`, "origin/main"], { cwd });
    for (let c = 0; c < 50; c++) {
      fs.writeFileSync(path.join(cwd, "log.txt"), `${run} ${c}\n`);
      await gitOk(["add", "log.txt"], { cwd });
      await gitOk(["commit", "-qm", `c${c}`], { cwd });
    }
    pushes[t]!.push(await timed(() => gitOk(["push", "-q", "origin", `b${run}`], { cwd })));
  }
const pair = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));
console.log(`A = ${mainA}, B = ${mainB}; PGlite each; ${new Date().toISOString()}`);
console.log(
  `clone ms median A ${median(clones[0]!).toFixed(0)} B ${median(clones[1]!).toFixed(0)}; pairs B/A time ${pair(clones[1]!, clones[0]!).toFixed(3)}`,
);
console.log(
  `fetch ms median A ${median(fetches[0]!).toFixed(1)} B ${median(fetches[1]!).toFixed(1)}; pairs B/A latency ${pair(fetches[1]!, fetches[0]!).toFixed(3)}`,
);
console.log(
  `push ms median A ${median(pushes[0]!).toFixed(0)} B ${median(pushes[1]!).toFixed(0)}; pairs B/A time ${pair(pushes[1]!, pushes[0]!).toFixed(3)}`,
);
for (const t of targets) {
  await stopChild(t.child);
  fs.rmSync(t.dataDir, { recursive: true, force: true });
}
fs.rmSync(source, { recursive: true, force: true });
