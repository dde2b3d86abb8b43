/**
 * How fast a revocation made through one instance reaches another: two service processes on
 * one Postgres cluster (A takes the REST writes, B serves git). For each revocation B is first
 * made to grant the token (and so to cache it), then A revokes it; t0 is when A's response
 * arrives, and B is asked back to back, without pause, until it refuses (t1). Prints t1 − t0,
 * the accepts B still gave after t0 (stale accepts: the design makes a REST write wait until
 * every live instance acknowledged the change, so there should be none), and the revoking
 * request's own latency. Kinds: deactivation, deletion (then a new token), narrowing the
 * scope, and deactivation seen through the auth hook on B. It asserts nothing.
 * Run: npm run bench:revocation
 */
import http from "node:http";
import knexFactory from "knex";
import type { CreatedTokenDto } from "@clarive/shared";
import { startPostgresCluster } from "../test/support/postgres";
import { percentile, printTable, startService, type ServiceProcess } from "./lib";

const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? "info";
/** A probe or a wait for a grant gives up after this long (the barrier's own bound is 1 s). */
const GIVE_UP_MS = 5000;
const PROJECT = "bench";
const REPO = "repo";
const OTHER_REPO = "other";
const INFO_REFS = `/git/${PROJECT}/${REPO}.git/info/refs?service=git-upload-pack`;

interface Reply {
  status: number;
  body: string;
  /** performance.now() when the request was handed to the socket, and when the whole response had arrived. */
  sentAt: number;
  at: number;
}

/** Plain node:http on one keep-alive connection per target (reconnects when the server closes it). */
function client(baseUrl: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(baseUrl);
  const once = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<Reply>((resolve, reject) => {
      const sentAt = performance.now();
      const req = http.request(
        {
          agent,
          hostname,
          port,
          method,
          path,
          headers: {
            ...headers,
            ...(body !== undefined && { "content-type": "application/json" }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString(),
              sentAt,
              at: performance.now(),
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    try {
      return await once(method, path, headers, text);
    } catch (error) {
      // A kept-alive socket the server closed just as we reused it: nothing was answered, send again.
      if ((error as NodeJS.ErrnoException).code !== "ECONNRESET") throw error;
      return once(method, path, headers, text);
    }
  };
}
type Send = ReturnType<typeof client>;

interface Probe {
  /** What B answers to a token it accepts, and to the revoked one. */
  grant: number;
  refusal: number;
  send(authorization: string): Promise<Reply>;
}

/** The git request itself, as git's first request of a clone or fetch. */
const infoRefs = (b: Send): Probe => ({
  grant: 200,
  refusal: 401,
  send: (authorization) => b("GET", INFO_REFS, { authorization }),
});

/** The nginx auth_request hook, asked about the same git request. */
const authHook = (b: Send, refusal = 401): Probe => ({
  grant: 204,
  refusal,
  send: (authorization) =>
    b("GET", "/api/v1/git/auth", {
      authorization,
      "x-original-uri": INFO_REFS,
      "x-original-method": "GET",
    }),
});

interface Round {
  /** t1 − t0: A's revoking response to B's first refusal. */
  untilRefusedMs: number;
  /** Requests to B after t0, the refusal included. */
  probes: number;
  staleAccepts: number;
  /** Delays after t0 of the stale accepts, for the report. */
  staleAt: number[];
  /** The revoking REST request's own latency (it includes the wait for every instance's acknowledgement). */
  revokeMs: number;
  /** Latency of the request B refused, sent to answered. */
  refusedRequestMs: number;
  /** Requests B refused after the token was granted again on A, before its first grant. */
  lateGrants: number;
  restoreMs: number;
}

interface Kind {
  name: string;
  probe: Probe;
  /** Makes the token valid (again) on A; returns its Basic authorization and A's reply. */
  restore(): Promise<{ authorization: string; reply: Reply }>;
  revoke(): Promise<Reply>;
  /** A control that is expected to see stale accepts: its rounds are not reported one by one. */
  control?: boolean;
}

const basic = (secret: string) => `Basic ${Buffer.from(`admin:${secret}`).toString("base64")}`;

function expectStatus(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: expected ${status}, got ${reply.status} ${reply.body}`);
  return reply;
}

/** Polls B (no pause) until it grants, then once more, so that the grant comes from B's cache. */
async function ensureGranted(probe: Probe, authorization: string): Promise<number> {
  const start = performance.now();
  let refusals = 0;
  for (;;) {
    const reply = await probe.send(authorization);
    if (reply.status === probe.grant) break;
    if (reply.status !== probe.refusal) throw new Error(`B answered ${reply.status} while waiting for a grant: ${reply.body}`);
    refusals++;
    if (performance.now() - start > GIVE_UP_MS) throw new Error(`B did not grant the token within ${GIVE_UP_MS} ms`);
  }
  expectStatus(await probe.send(authorization), probe.grant, "B's second (cached) grant");
  return refusals;
}

async function measure(kind: Kind): Promise<Round[]> {
  const rounds: Round[] = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const { authorization, reply: restored } = await kind.restore();
    const lateGrants = await ensureGranted(kind.probe, authorization);
    const revoked = await kind.revoke();
    const t0 = revoked.at;
    let probes = 0;
    const staleAt: number[] = [];
    for (;;) {
      const reply = await kind.probe.send(authorization);
      probes++;
      if (reply.status === kind.probe.grant) {
        staleAt.push(reply.at - t0);
        if (reply.at - t0 > GIVE_UP_MS) throw new Error(`${kind.name}: B still grants ${GIVE_UP_MS} ms after the revocation`);
        continue;
      }
      expectStatus(reply, kind.probe.refusal, `${kind.name}, round ${i}: B's refusal`);
      rounds.push({
        untilRefusedMs: reply.at - t0,
        probes,
        staleAccepts: staleAt.length,
        staleAt,
        revokeMs: revoked.at - revoked.sentAt,
        refusedRequestMs: reply.at - reply.sentAt,
        lateGrants,
        restoreMs: restored.at - restored.sentAt,
      });
      break;
    }
    if (staleAt.length > 0 && !kind.control) {
      process.stderr.write(
        `${kind.name}, round ${i}: ${staleAt.length} stale accept(s) at ${staleAt.map((t) => t.toFixed(2)).join(", ")} ms after t0\n`,
      );
    }
  }
  return rounds;
}

const cluster = await startPostgresCluster();
const pg = knexFactory({ client: "pg", connection: cluster.adminUrl });
await pg.raw("CREATE DATABASE clarive_bench");
await pg.destroy();
const databaseUrl = cluster.adminUrl.replace(/\/postgres$/, "/clarive_bench");
const services: ServiceProcess[] = [];
const db = knexFactory({ client: "pg", connection: databaseUrl });
try {
  // One after the other: the first start creates the schema and the admin user.
  const a = await startService({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: LOG_LEVEL,
  });
  services.push(a);
  const b = await startService({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: LOG_LEVEL,
    REPOS_DIR: a.reposDir,
  });
  services.push(b);

  const sendA = client(a.url);
  const sendB = client(b.url);
  const api = { authorization: `Bearer ${a.admin.apiKey ?? ""}` };
  expectStatus(await sendA("PUT", "/api/v1/settings/git", api, { patAuthEnabled: true }), 200, "enabling PAT auth");
  for (const name of [REPO, OTHER_REPO]) {
    expectStatus(
      await sendA("POST", "/api/v1/repositories", api, {
        project: PROJECT,
        name,
      }),
      201,
      `creating ${PROJECT}/${name}`,
    );
  }
  const createToken = async (repositories: string[]) => {
    const reply = expectStatus(
      await sendA("POST", "/api/v1/tokens", api, {
        description: "bench",
        expiresInDays: 30,
        permission: "read",
        repositories,
      }),
      201,
      "creating a token",
    );
    return { token: JSON.parse(reply.body) as CreatedTokenDto, reply };
  };
  const patch = async (id: number, body: unknown) => expectStatus(await sendA("PATCH", `/api/v1/tokens/${id}`, api, body), 200, "PATCH");

  /** Deactivation and reactivation of one token (PATCH {"active": …}). */
  const deactivation = async (name: string, probe: Probe): Promise<Kind> => {
    const { token } = await createToken([]);
    const authorization = basic(token.token);
    return {
      name,
      probe,
      restore: async () => ({
        authorization,
        reply: await patch(token.id, { active: true }),
      }),
      revoke: () => patch(token.id, { active: false }),
    };
  };
  /** DELETE, then a new token for the next round. */
  const deletion = (name: string, probe: Probe): Kind => {
    let current: CreatedTokenDto | undefined;
    return {
      name,
      probe,
      restore: async () => {
        const { token, reply } = await createToken([]);
        current = token;
        return { authorization: basic(token.token), reply };
      },
      revoke: async () => expectStatus(await sendA("DELETE", `/api/v1/tokens/${current?.id ?? 0}`, api), 204, "DELETE"),
    };
  };
  /** The scope moved from the probed repository to another one: B answers 403, not 401. */
  const narrowing = async (name: string): Promise<Kind> => {
    const { token } = await createToken([`${PROJECT}/${REPO}`]);
    const authorization = basic(token.token);
    return {
      name,
      probe: { ...infoRefs(sendB), refusal: 403 },
      restore: async () => ({
        authorization,
        reply: await patch(token.id, { repositories: [`${PROJECT}/${REPO}`] }),
      }),
      revoke: () => patch(token.id, { repositories: [`${PROJECT}/${OTHER_REPO}`] }),
    };
  };

  /**
   * Control, to show the probe can see staleness: the same deactivation written straight into
   * the database, so nothing waits for B; t0 is when the UPDATE's commit returns.
   */
  const sqlDeactivation = async (name: string): Promise<Kind> => {
    const { token } = await createToken([]);
    const authorization = basic(token.token);
    return {
      name,
      probe: infoRefs(sendB),
      control: true,
      restore: async () => ({
        authorization,
        reply: await patch(token.id, { active: true }),
      }),
      revoke: async () => {
        const sentAt = performance.now();
        await db("personal_access_tokens").where({ id: token.id }).update({ active: false });
        return { status: 200, body: "", sentAt, at: performance.now() };
      },
    };
  };

  const kinds: Kind[] = [
    await deactivation("deactivate (PATCH active:false), info/refs", infoRefs(sendB)),
    deletion("delete (DELETE, then a new token), info/refs", infoRefs(sendB)),
    await narrowing("narrow the scope (PATCH repositories), info/refs → 403"),
    await deactivation("deactivate, auth hook (GET /api/v1/git/auth)", authHook(sendB)),
    await sqlDeactivation("control: UPDATE … SET active = false in SQL (no barrier), info/refs"),
  ];
  const started = performance.now();
  const results: { kind: Kind; rounds: Round[]; seconds: number }[] = [];
  for (const kind of kinds) {
    const t = performance.now();
    const rounds = await measure(kind);
    results.push({ kind, rounds, seconds: (performance.now() - t) / 1000 });
  }

  const ms = (v: number) => v.toFixed(2);
  const dist = (rounds: Round[], pick: (r: Round) => number) => rounds.map(pick);
  process.stdout.write(
    `\n${REVOCATIONS} revocations per kind; A takes the REST writes, B is probed back to back after A's response; ` +
      `keep-alive node:http; ${((performance.now() - started) / 1000).toFixed(1)} s of measuring; ${new Date().toISOString()}\n`,
  );
  printTable(
    "revocation on A → first refusal on B (ms)",
    ["kind", "t1−t0 p50", "p99", "max", "stale accepts (rounds)", "requests to B until refused (max)", "refused request p50"],
    results.map(({ kind, rounds }) => {
      const until = dist(rounds, (r) => r.untilRefusedMs);
      return [
        kind.name,
        ms(percentile(until, 50)),
        ms(percentile(until, 99)),
        ms(Math.max(...until)),
        `${rounds.reduce((n, r) => n + r.staleAccepts, 0)} (${rounds.filter((r) => r.staleAccepts > 0).length})`,
        Math.max(...dist(rounds, (r) => r.probes)),
        ms(
          percentile(
            dist(rounds, (r) => r.refusedRequestMs),
            50,
          ),
        ),
      ];
    }),
  );
  printTable(
    "the REST writes on A (ms; each waits until every live instance acknowledged the change)",
    ["kind", "revoking request p50", "p99", "max", "restoring request p50", "p99", "refusals by B after the restore (total)"],
    results.map(({ kind, rounds }) => {
      const revoke = dist(rounds, (r) => r.revokeMs);
      const restore = dist(rounds, (r) => r.restoreMs);
      return [
        kind.name,
        ms(percentile(revoke, 50)),
        ms(percentile(revoke, 99)),
        ms(Math.max(...revoke)),
        ms(percentile(restore, 50)),
        ms(percentile(restore, 99)),
        rounds.reduce((n, r) => n + r.lateGrants, 0),
      ];
    }),
  );
} finally {
  await db.destroy();
  for (const service of services.reverse()) await service.stop();
  cluster.stop();
}
