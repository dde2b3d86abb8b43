/**
 * The cost of push protection's scan per push: the same pushes to one service with the scan on
 * and off for the repository (PATCH pushProtection), in alternation so that drift falls on both.
 * Prints medians and the difference for pushes of 50 small commits and of one commit adding a
 * text file of 1 MB and of 20 MB (streamed through grep). Asserts nothing.
 * Run: npm run bench:push-scan (Postgres; BENCH_DB=pglite for the embedded database).
 */
import fs from "node:fs";
import path from "node:path";
import { gitOk, tempDir } from "../test/support/git";
import { startPostgresCluster } from "../test/support/postgres";
import { median, prepareRepository, printTable, startService } from "./lib";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);

function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  return run().then(() => Number(process.hrtime.bigint() - start) / 1e6);
}

const cluster = process.env.BENCH_DB === "pglite" ? undefined : await startPostgresCluster();
const service = await startService(cluster ? { DATABASE_URL: cluster.adminUrl } : {});
try {
  const token = await prepareRepository(service.admin, "bench", "scan");
  const url = new URL(`${service.url}/git/bench/scan.git`);
  url.username = "admin";
  url.password = token;
  const work = path.join(tempDir(), "wc");
  await gitOk(["init", "-q", work]);
  fs.writeFileSync(path.join(work, "README"), "bench\n");
  await gitOk(["add", "."], { cwd: work });
  await gitOk(["commit", "-qm", "first"], { cwd: work });
  await gitOk(["remote", "add", "origin", url.toString()], { cwd: work });
  await gitOk(["push", "-q", "origin", "main"], { cwd: work });

  const setScan = async (on: boolean) => {
    const reply = await service.admin.patch("/repositories/bench/scan", { pushProtection: on ? "true" : "false" });
    if (reply.status !== 200) throw new Error(`PATCH failed: ${reply.status}`);
  };
  let branchNumber = 0;
  /** A new branch from main with the given commits, then the timed push of it. */
  const pushOf = async (commits: number, bytes: number) => {
    const branch = `b${++branchNumber}`;
    await gitOk(["checkout", "-q", "-B", branch, "main"], { cwd: work });
    for (let c = 0; c < commits; c++) {
      // Text without a token: the scan reads it all and finds nothing, the common case.
      const line = `${branch} line ${c} `.padEnd(63, "x");
      fs.writeFileSync(path.join(work, "data.txt"), bytes > 0 ? `${line}\n`.repeat(Math.ceil(bytes / 64)) : `${line}\n`);
      await gitOk(["add", "data.txt"], { cwd: work });
      await gitOk(["commit", "-qm", `commit ${c}`], { cwd: work });
    }
    return timed(() => gitOk(["push", "-q", "origin", branch], { cwd: work }));
  };

  const cases = [
    { name: "50 small commits", commits: 50, bytes: 0 },
    { name: "1 commit, 1 MB text file", commits: 1, bytes: 1024 * 1024 },
    { name: "1 commit, 20 MB text file", commits: 1, bytes: 20 * 1024 * 1024 },
  ];
  const rows: string[][] = [];
  for (const c of cases) {
    const on: number[] = [];
    const off: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const scan of round % 2 === 0 ? [true, false] : [false, true]) {
        await setScan(scan);
        (scan ? on : off).push(await pushOf(c.commits, c.bytes));
      }
    }
    const [mOn, mOff] = [median(on), median(off)];
    rows.push([c.name, mOff.toFixed(1), mOn.toFixed(1), (mOn - mOff).toFixed(1), `${(((mOn - mOff) / mOff) * 100).toFixed(1)} %`]);
  }
  printTable(
    `Push protection's scan per push (${ROUNDS} pushes each, scan on and off in alternation, ${cluster ? "Postgres" : "PGlite"})`,
    ["push", "scan off ms", "scan on ms", "scan cost ms", "relative"],
    rows,
  );
} finally {
  await service.stop();
  cluster?.stop();
}
