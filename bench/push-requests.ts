/**
 * Where a push's time goes, request by request, on both servers: the same 50-commit pushes as
 * bench:git-http (same repository, in turns), each traced by git itself (GIT_TRACE_CURL), and for
 * each of git's three requests (the anonymous info/refs that gets the 401 challenge, info/refs
 * with credentials, the POST of the pack) the time from its request to the response's first
 * header and from there to the response's end. Prints medians; asserts nothing.
 * Run: npm run bench:push-requests (Postgres; BENCH_DB=pglite, BENCH_PUSH_PROTECTION=off, BENCH_PUSHES).
 */
import fs from "node:fs";
import path from "node:path";
import { gitOk, tempDir } from "../test/support/git";
import { startPostgresCluster } from "../test/support/postgres";
import { generateRepository, median, prepareRepository, printTable, startBasicAuthNginx, startService } from "./lib";

const PUSHES = Number(process.env.BENCH_PUSHES ?? 16);
const cluster = process.env.BENCH_DB === "pglite" ? undefined : await startPostgresCluster();
const service = await startService(cluster ? { DATABASE_URL: cluster.adminUrl } : {});
let nginx: Awaited<ReturnType<typeof startBasicAuthNginx>> | undefined;

/** Seconds of the day in a trace line ("HH:MM:SS.micros …"), in ms. */
function lineTime(line: string): number | undefined {
  const match = /^(\d\d):(\d\d):(\d\d)\.(\d{6}) /.exec(line);
  return match ? ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000 + Number(match[4]) / 1000 : undefined;
}

/** Per request of the push: [to first header, first header to end], from git's curl trace. */
function requestTimes(trace: string): number[][] {
  const requests: number[][] = [];
  let sent: number | undefined;
  let header: number | undefined;
  for (const line of trace.split("\n")) {
    const at = lineTime(line);
    if (at === undefined) continue;
    if (/=> Send header: (GET|POST) /.test(line)) sent = at;
    else if (line.includes("<= Recv header: HTTP/1.1") && sent !== undefined) header = at;
    else if (line.includes("== Info: Connection #0 to host") && sent !== undefined && header !== undefined) {
      requests.push([header - sent, at - header]);
      sent = header = undefined;
    }
  }
  return requests;
}

try {
  const token = await prepareRepository(service.admin, "bench", "big");
  if (process.env.BENCH_PUSH_PROTECTION === "off") await service.admin.put("/settings/git", { pushProtection: false });
  const source = await generateRepository(50, 1024 * 1024);
  const remote = (base: string) => {
    const url = new URL(`${base}/git/bench/big.git`);
    url.username = "admin";
    url.password = token;
    return url.toString();
  };
  await gitOk(["push", "-q", remote(service.url), "main"], { cwd: source });
  await gitOk(["--git-dir", path.join(service.reposDir, "bench", "big.git"), "repack", "-adq"]);
  nginx = await startBasicAuthNginx(service.reposDir, token);
  const targets = [
    { name: "clarive", url: remote(service.url) },
    { name: "nginx", url: remote(nginx.url) },
  ];
  const work = await Promise.all(
    targets.map(async ({ url }) => {
      const dir = path.join(tempDir(), "wc");
      await gitOk(["clone", "-q", url, dir]);
      return dir;
    }),
  );
  const times = targets.map(() => [] as number[][][]);
  const totals = targets.map(() => [] as number[]);
  for (let run = -3; run < PUSHES; run++) {
    for (const t of run % 2 === 0 ? [0, 1] : [1, 0]) {
      const cwd = work[t] as string;
      const branch = `trace-${targets[t]?.name}-${run}`;
      await gitOk(["checkout", "-q", "-B", branch, "origin/main"], { cwd });
      for (let c = 0; c < 50; c++) {
        fs.writeFileSync(path.join(cwd, "log.txt"), `${branch} commit ${c}\n`);
        await gitOk(["add", "log.txt"], { cwd });
        await gitOk(["commit", "-qm", `commit ${c}`], { cwd });
      }
      const trace = path.join(tempDir(), "trace");
      const start = performance.now();
      await gitOk(["push", "-q", "origin", branch], { cwd, env: { GIT_TRACE_CURL: trace, GIT_TRACE_CURL_NO_DATA: "1" } });
      if (run < 0) continue; // warm-up, as in bench:git-http
      totals[t]?.push(performance.now() - start);
      times[t]?.push(requestTimes(fs.readFileSync(trace, "utf8")));
    }
  }
  const names = ["401 challenge", "info/refs", "POST (the pack)"];
  const rows: string[][] = [];
  for (const [i, name] of names.entries()) {
    const cell = (t: number, part: number) => median((times[t] ?? []).map((push) => push[i]?.[part] ?? NaN)).toFixed(1);
    rows.push([name, cell(0, 0), cell(0, 1), cell(1, 0), cell(1, 1)]);
  }
  rows.push(["whole push (git's own time too)", median(totals[0] ?? []).toFixed(1), "", median(totals[1] ?? []).toFixed(1), ""]);
  printTable(
    `A push's requests, ${PUSHES} pushes of 50 commits each (after 3 not counted), medians in ms; database ${cluster ? "Postgres" : "PGlite"}; ` +
      `push protection ${process.env.BENCH_PUSH_PROTECTION === "off" ? "off" : "on"}; ${new Date().toISOString()}`,
    ["request", "clarive: to first header", "then to end", "nginx: to first header", "then to end"],
    rows,
  );
} finally {
  await nginx?.stop();
  await service.stop();
  cluster?.stop();
}
