/**
 * git over HTTP through the service vs nginx + fcgiwrap + git http-backend with Basic auth,
 * on the same bare repository (~50 MB pack, generated deterministically), in one run.
 * Prints full-clone throughput, no-op fetch latency, the time to push 50 commits, and the
 * ratios against the goals. Run: npm run bench:git-http
 *
 * BENCH_TLS=1: the same over https on both sides, with one certificate made for the run
 * (test/support/tls.ts): the service with its native TLS (TLS_CERT_FILE / TLS_KEY_FILE),
 * nginx with `listen … ssl` and the same certificate and key; git trusts the run's CA.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { gitOk, tempDir } from "../test/support/git";
import { startPostgresCluster } from "../test/support/postgres";
import { createTestCertificates } from "../test/support/tls";
import { generateRepository, median, packBytes, percentile, prepareRepository, printTable, startBasicAuthNginx, startService } from "./lib";

const TLS = process.env.BENCH_TLS === "1";

// BENCH_TLS=1: make the run's CA and certificate, then run this script again trusting that CA
// (Node reads NODE_EXTRA_CA_CERTS only when it starts), so its own requests to the https service
// (readiness, login, creating the token) verify the certificate as git does.
if (TLS && process.env.BENCH_TLS_CA === undefined) {
  const certs = createTestCertificates();
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: certs.caCert,
      BENCH_TLS_CA: certs.caCert,
      BENCH_TLS_CERT: certs.serverCert,
      BENCH_TLS_KEY: certs.serverKey,
    },
  });
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  certs.remove();
  process.exit(code);
}

const tls = TLS
  ? {
      ca: process.env.BENCH_TLS_CA as string,
      cert: process.env.BENCH_TLS_CERT as string,
      key: process.env.BENCH_TLS_KEY as string,
    }
  : undefined;
/** Every git command of the bench: with TLS, git trusts the run's CA (and nothing else is changed). */
const gitEnv = (extra: Record<string, string> = {}) => ({ ...extra, ...(tls && { GIT_SSL_CAINFO: tls.ca }) });
const runGit = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  gitOk(args, { ...options, env: gitEnv(options.env) });

/** The TLS version and cipher a server negotiates with Node's client (git's libcurl may pick another cipher). */
function negotiated(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: fs.readFileSync(ca), agent: false }, (response) => {
      const socket = response.socket as TLSSocket;
      resolve(`${socket.getProtocol()} ${socket.getCipher().name}`);
      response.resume();
    });
    request.on("error", reject);
  });
}

const FILES = 50;
const FILE_BYTES = 1024 * 1024;
const CLONES = Number(process.env.BENCH_CLONES ?? 6);
const FETCHES = Number(process.env.BENCH_FETCHES ?? 30);
// 25 pairs: with 9 or 15 the median of a push's pairs moved by ±0.07 from run to run on this VM.
const PUSHES = Number(process.env.BENCH_PUSHES ?? 25);
/**
 * Pushes per target before the measured ones, not counted: the service's push check is
 * JavaScript, which V8 compiles to machine code only after it has run a few times (its first
 * push costs ~14 ms, a warm one ~2 ms), and a service serves pushes for days; nginx has no such
 * start. The steady state is what the goal is about.
 */
const WARMUP_PUSHES = Number(process.env.BENCH_WARMUP_PUSHES ?? 3);
const PUSH_PROTECTION_OFF = process.env.BENCH_PUSH_PROTECTION === "off";
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface Target {
  name: string;
  url: string;
}

interface Figures {
  cloneMBps: number;
  fetchMs: number;
  fetchP90: number;
  pushMs: number;
}

/** Clarive's figure against nginx's, each pair measured back to back; goal ratios use their median. */
interface Paired {
  clone: number[];
  fetch: number[];
  push: number[];
}

/**
 * Measures both targets in alternation so that whatever else the machine does falls on both
 * alike, and in turns (A B, then B A, …) so that neither is always the one going first. Each
 * pair gives a ratio: this VM's speed drifts by ±15 % within a minute, which a ratio of
 * medians taken minutes apart would mix in.
 */
async function measureInterleaved(
  targets: [Target, Target],
  packBytes: number,
  /** Called once the warm-up pushes are done, before the measured ones. */
  warmedUp: () => Promise<void>,
): Promise<{ figures: Figures[]; paired: Paired }> {
  const clones: [number[], number[]] = [[], []];
  const fetches: [number[], number[]] = [[], []];
  const pushes: [number[], number[]] = [[], []];
  const inTurns = (i: number): (0 | 1)[] => (i % 2 === 0 ? [0, 1] : [1, 0]);
  for (let i = 0; i < CLONES; i++) {
    for (const t of inTurns(i)) {
      const dir = path.join(tempDir(), "clone.git");
      clones[t].push(await timed(() => runGit(["clone", "-q", "--bare", targets[t].url, dir])));
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  }
  const work = await Promise.all(
    targets.map(async (target) => {
      const dir = path.join(tempDir(), "wc");
      await runGit(["clone", "-q", target.url, dir]);
      await runGit(["fetch", "-q", "origin"], { cwd: dir }); // warm-up
      return dir;
    }),
  );
  for (let i = 0; i < FETCHES; i++) {
    for (const t of inTurns(i)) fetches[t].push(await timed(() => runGit(["fetch", "-q", "origin"], { cwd: work[t] })));
  }
  for (let run = -WARMUP_PUSHES; run < PUSHES; run++) {
    if (run === 0) await warmedUp();
    for (const t of inTurns(run + WARMUP_PUSHES)) {
      const cwd = work[t] as string;
      const branch = `bench-${targets[t].name}-${run < 0 ? `warmup${-run}` : run}`;
      await runGit(["checkout", "-q", "-B", branch, "origin/main"], { cwd });
      for (let c = 0; c < 50; c++) {
        fs.writeFileSync(path.join(cwd, "log.txt"), `${branch} commit ${c}\n`);
        await runGit(["add", "log.txt"], { cwd });
        await runGit(["commit", "-qm", `commit ${c}`], { cwd });
      }
      const ms = await timed(() => runGit(["push", "-q", "origin", branch], { cwd }));
      if (run >= 0) pushes[t].push(ms);
    }
  }
  for (const dir of work) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  if (process.env.BENCH_VERBOSE) {
    for (const [t, target] of targets.entries()) {
      const ms = (list: number[]) => list.map((v) => v.toFixed(0)).join(" ");
      process.stdout.write(`${target.name}: clones ${ms(clones[t] as number[])} ms; pushes ${ms(pushes[t] as number[])} ms\n`);
    }
  }
  const figures = targets.map((_, t) => ({
    cloneMBps: packBytes / 1024 / 1024 / (median(clones[t] as number[]) / 1000),
    fetchMs: median(fetches[t] as number[]),
    fetchP90: percentile(fetches[t] as number[], 90),
    pushMs: median(pushes[t] as number[]),
  }));
  // Every ratio reads "Clarive relative to nginx" as the goals state them: throughput for
  // clone and push (nginx's time over Clarive's), latency for fetch (Clarive's over nginx's).
  const paired: Paired = {
    clone: clones[0].map((ms, i) => (clones[1][i] as number) / ms),
    fetch: fetches[0].map((ms, i) => ms / (fetches[1][i] as number)),
    push: pushes[0].map((ms, i) => (pushes[1][i] as number) / ms),
  };
  return { figures, paired };
}

interface PushChecks {
  requestBody: number;
  quarantine: number;
  requestBodySeconds: number;
  quarantineSeconds: number;
}

/** Push protection's counters from the service's GET /metrics. */
async function pushChecks(serviceUrl: string): Promise<PushChecks> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const sample = (name: string, where: string) => Number(new RegExp(`^${name}\\{where="${where}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    requestBody: sample("clarive_push_protection_checks_total", "request_body"),
    quarantine: sample("clarive_push_protection_checks_total", "quarantine"),
    requestBodySeconds: sample("clarive_push_protection_check_seconds_total", "request_body"),
    quarantineSeconds: sample("clarive_push_protection_check_seconds_total", "quarantine"),
  };
}

const subtract = (after: PushChecks, before: PushChecks): PushChecks => ({
  requestBody: after.requestBody - before.requestBody,
  quarantine: after.quarantine - before.quarantine,
  requestBodySeconds: after.requestBodySeconds - before.requestBodySeconds,
  quarantineSeconds: after.quarantineSeconds - before.quarantineSeconds,
});

/** Postgres by default (production's database); BENCH_DB=pglite for the embedded one. */
async function databaseEnv(): Promise<{ env: Record<string, string>; stop(): void }> {
  if (process.env.BENCH_DB === "pglite") return { env: {}, stop: () => undefined };
  const cluster = await startPostgresCluster();
  return { env: { DATABASE_URL: cluster.adminUrl }, stop: () => cluster.stop() };
}

const database = await databaseEnv();
const service = await startService({ ...database.env, ...(tls && { TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key }) });
let nginx: Awaited<ReturnType<typeof startBasicAuthNginx>> | undefined;
try {
  const token = await prepareRepository(service.admin, "bench", "big");
  // For diagnosis: the push path without its scan (push protection is on by default).
  if (PUSH_PROTECTION_OFF) await service.admin.put("/settings/git", { pushProtection: false });
  const source = await generateRepository(FILES, FILE_BYTES);
  const withCredentials = (base: string, user: string, secret: string) => {
    const url = new URL(`${base}/git/bench/big.git`);
    url.username = user;
    url.password = secret;
    return url.toString();
  };
  const serviceUrl = (user: string, secret: string) => withCredentials(service.url, user, secret);
  await runGit(["push", "-q", serviceUrl("admin", token), "main"], { cwd: source });
  const bare = path.join(service.reposDir, "bench", "big.git");
  // A small push is stored as loose objects; a served repository is normally packed.
  await runGit(["--git-dir", bare, "repack", "-adq"]);
  const packSize = packBytes(bare);

  // nginx with classic Basic auth (htpasswd, salted SHA-1) in front of the same repositories.
  nginx = await startBasicAuthNginx(service.reposDir, token, tls);
  const targets: [Target, Target] = [
    { name: "clarive", url: serviceUrl("admin", token) },
    { name: "nginx", url: withCredentials(nginx.url, "admin", token) },
  ];
  process.stdout.write(
    `repository: ${FILES} files × ${FILE_BYTES / 1024 / 1024} MiB, pack ${(packSize / 1024 / 1024).toFixed(1)} MiB; ` +
      `${CLONES} clones, ${FETCHES} no-op fetches, ${PUSHES} pushes of 50 commits per target (after ${WARMUP_PUSHES} not counted), interleaved; ` +
      `database ${process.env.BENCH_DB === "pglite" ? "PGlite" : "Postgres"}; push protection ${PUSH_PROTECTION_OFF ? "off" : "on"}; ${new Date().toISOString()}\n`,
  );
  if (tls) {
    process.stdout.write(
      `TLS, one certificate (RSA 2048) for both: clarive ${await negotiated(`${service.url}/api/v1/openapi.json`, tls.ca)}, ` +
        `nginx ${await negotiated(`${nginx.url}/git/`, tls.ca)}\n`,
    );
  }
  let checksBefore = await pushChecks(service.url);
  const { figures, paired } = await measureInterleaved(targets, packSize, async () => {
    checksBefore = await pushChecks(service.url); // the measured pushes' checks only
  });
  const checks = subtract(await pushChecks(service.url), checksBefore);
  const [c, n] = figures as [Figures, Figures];
  printTable(
    `git over ${tls ? "HTTPS" : "HTTP"}: Clarive service vs nginx + fcgiwrap + git http-backend (medians)`,
    ["measure", "clarive", "nginx"],
    [
      ["full clone MiB/s", c.cloneMBps.toFixed(1), n.cloneMBps.toFixed(1)],
      ["no-op fetch ms", c.fetchMs.toFixed(1), n.fetchMs.toFixed(1)],
      ["no-op fetch p90 ms", c.fetchP90.toFixed(1), n.fetchP90.toFixed(1)],
      ["push 50 commits ms", c.pushMs.toFixed(0), n.pushMs.toFixed(0)],
    ],
  );
  const goal = (name: string, ratios: number[], ofMedians: number, target: string, met: (ratio: number) => boolean) => {
    const ratio = median(ratios);
    return [
      name,
      `${ratio.toFixed(3)} (${ofMedians.toFixed(3)})`,
      `${percentile(ratios, 10).toFixed(2)} – ${percentile(ratios, 90).toFixed(2)}`,
      target,
      met(ratio) ? "yes" : "NO",
    ];
  };
  printTable(
    "goals (ratio: median of the back-to-back pairs; in brackets the ratio of the medians above)",
    ["measure", "ratio", "pairs p10 – p90", "goal", "met"],
    [
      goal("full clone throughput", paired.clone, c.cloneMBps / n.cloneMBps, "≥ 0.95", (r) => r >= 0.95),
      goal("no-op fetch latency", paired.fetch, c.fetchMs / n.fetchMs, "≤ 1.25", (r) => r <= 1.25),
      goal("push of 50 commits, throughput", paired.push, n.pushMs / c.pushMs, "≥ 0.95", (r) => r >= 0.95),
    ],
  );
  const checked = checks.requestBody + checks.quarantine;
  const perPushMs = checked ? ((checks.requestBodySeconds + checks.quarantineSeconds) / checked) * 1000 : 0;
  process.stdout.write(
    `\npush protection on the service's pushes (GET /metrics): ${checks.requestBody} of ${checked} proven clean from the request ` +
      `body before git (no hook), ${checks.quarantine} checked by its hook; its own time ${perPushMs.toFixed(2)} ms per push ` +
      `(the body is read while git starts) of a ${c.pushMs.toFixed(0)} ms push\n`,
  );
} finally {
  await nginx?.stop();
  await service.stop();
  database.stop();
}
