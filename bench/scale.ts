/**
 * Cost as the work grows (issue 14, point 4). Prints figures, asserts nothing.
 * Run: npm run bench:scale
 *
 * 1. Clone time against repository size: packs of BENCH_SIZES MiB (10, 50, 200 by default) of
 *    incompressible files, each cloned BENCH_CLONES times through the service and through nginx
 *    + fcgiwrap + git http-backend (Basic auth), in alternation, on Postgres. Printed: median
 *    seconds, MiB/s, the ratio, and each size's time per MiB against the smallest's (1.0 = linear).
 * 2. The auth decision at BENCH_TOKENS tokens in the table (10k, 1M, 5M by default): the
 *    latency of the auth hook's answer for a token seen for the first time (a database lookup,
 *    BENCH_COLD of them, one at a time) and for tokens already cached (the same ones again).
 */
import fs from "node:fs";
import path from "node:path";
import knexFactory from "knex";
import { generatePersonalAccessToken } from "@clarive/shared";
import { sha256Hex } from "../server/src/lib/hash";
import { gitOk, tempDir } from "../test/support/git";
import { startPostgresCluster } from "../test/support/postgres";
import { generateRepository, median, packBytes, percentile, prepareRepository, printTable, startBasicAuthNginx, startService } from "./lib";

const SIZES = (process.env.BENCH_SIZES ?? "10,50,200").split(",").map(Number);
const CLONES = Number(process.env.BENCH_CLONES ?? 4);
const TOKENS = (process.env.BENCH_TOKENS ?? "10000,1000000,5000000").split(",").map(Number);
const COLD = Number(process.env.BENCH_COLD ?? 300);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const cluster = await startPostgresCluster();
const service = await startService({ DATABASE_URL: cluster.adminUrl });
const db = knexFactory({ client: "pg", connection: cluster.adminUrl });
try {
  // 1. Clone time against size.
  const token = await prepareRepository(service.admin, "bench", "scale-0");
  const nginx = await startBasicAuthNginx(service.reposDir, token);
  const cloneRows: (string | number)[][] = [];
  let firstPerMiB: number | undefined;
  try {
    for (const [index, mib] of SIZES.entries()) {
      const name = `scale-${index}`;
      if (index > 0) await service.admin.post("/repositories", { project: "bench", name });
      const source = await generateRepository(mib, 1024 * 1024, `scale-${mib}`);
      const withCredentials = (base: string) => {
        const url = new URL(`${base}/git/bench/${name}.git`);
        url.username = "admin";
        url.password = token;
        return url.toString();
      };
      await gitOk(["push", "-q", withCredentials(service.url), "main"], { cwd: source });
      const bare = path.join(service.reposDir, "bench", `${name}.git`);
      await gitOk(["--git-dir", bare, "repack", "-adq"]);
      fs.rmSync(source, { recursive: true, force: true });
      const bytes = packBytes(bare);
      const times: [number[], number[]] = [[], []];
      const urls = [withCredentials(service.url), withCredentials(nginx.url)];
      for (let i = 0; i < CLONES; i++) {
        for (const t of i % 2 === 0 ? [0, 1] : [1, 0]) {
          const dir = path.join(tempDir(), "clone.git");
          times[t as 0 | 1].push(await timed(() => gitOk(["clone", "-q", "--bare", urls[t] as string, dir])));
          fs.rmSync(path.dirname(dir), { recursive: true, force: true });
        }
      }
      const [clarive, viaNginx] = [median(times[0]), median(times[1])];
      const packMiB = bytes / 1024 / 1024;
      const perMiB = clarive / packMiB;
      firstPerMiB ??= perMiB;
      cloneRows.push([
        packMiB.toFixed(1),
        (clarive / 1000).toFixed(2),
        (packMiB / (clarive / 1000)).toFixed(1),
        (viaNginx / 1000).toFixed(2),
        (packMiB / (viaNginx / 1000)).toFixed(1),
        (viaNginx / clarive).toFixed(3),
        (perMiB / firstPerMiB).toFixed(2),
      ]);
    }
  } finally {
    await nginx.stop();
  }

  // 2. The auth decision against the number of tokens.
  const askHook = async (authorization: string) => {
    const response = await fetch(`${service.url}/api/v1/git/auth`, {
      headers: { authorization, "x-original-uri": "/git/bench/scale-0.git/info/refs?service=git-upload-pack" },
    });
    if (response.status !== 204) throw new Error(`the hook refused a valid token: ${response.status}`);
  };
  const tokenRows: (string | number)[][] = [];
  let inTable = Number((await db("personal_access_tokens").count<{ count: string }[]>("* as count"))[0]?.count ?? 0);
  const expires = new Date(Date.now() + 30 * 86_400_000);
  for (const target of TOKENS) {
    if (target > inTable) {
      await db.raw(
        `INSERT INTO personal_access_tokens (user_id, description, permission, all_repositories, token_hash, token_hint, expires_at)
         SELECT 1, 'filler', 'read', true, encode(sha256(('filler-' || g)::text::bytea), 'hex'), 'clapat_…fill', now() + interval '30 days'
         FROM generate_series(?::bigint, ?::bigint) AS g`,
        [inTable + 1, target - COLD],
      );
      await db.raw("VACUUM ANALYZE personal_access_tokens");
    }
    // Fresh live tokens for this size: never seen by the service, so each first use is a lookup.
    const secrets = Array.from({ length: COLD }, generatePersonalAccessToken);
    await db.batchInsert(
      "personal_access_tokens",
      secrets.map((secret, i) => ({
        user_id: 1,
        description: `scale ${target} ${i}`,
        permission: "read",
        all_repositories: true,
        token_hash: sha256Hex(secret),
        token_hint: "clapat_…scal",
        expires_at: expires,
      })),
      1000,
    );
    inTable = Number((await db("personal_access_tokens").count<{ count: string }[]>("* as count"))[0]?.count ?? 0);
    const authorizations = secrets.map((s) => `Basic ${Buffer.from(`admin:${s}`).toString("base64")}`);
    const cold: number[] = [];
    for (const authorization of authorizations) cold.push(await timed(() => askHook(authorization)));
    const warm: number[] = [];
    for (const authorization of authorizations) warm.push(await timed(() => askHook(authorization)));
    tokenRows.push([
      inTable.toLocaleString("en"),
      median(cold).toFixed(2),
      percentile(cold, 99).toFixed(2),
      median(warm).toFixed(2),
      percentile(warm, 99).toFixed(2),
    ]);
  }

  process.stdout.write(
    `Postgres; ${CLONES} clones per size and server, alternating; ${COLD} first uses per token count; ${new Date().toISOString()}\n`,
  );
  printTable(
    "clone time against pack size (medians; 'per MiB vs smallest' 1.00 = linear)",
    ["pack MiB", "clarive s", "clarive MiB/s", "nginx s", "nginx MiB/s", "ratio (throughput)", "per MiB vs smallest"],
    cloneRows,
  );
  printTable(
    "auth hook latency against tokens in the table (ms, one request at a time, including HTTP on loopback)",
    ["tokens", "first use median", "first use p99", "cached median", "cached p99"],
    tokenRows,
  );
} finally {
  await db.destroy();
  await service.stop();
  cluster.stop();
}
