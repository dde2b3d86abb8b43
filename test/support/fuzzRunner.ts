import fc from "fast-check";
import type { Knex } from "knex";
import { describeRequest, resolveRequest, type FuzzValues, type RequestTemplate } from "./fuzz";
import { auditSince, lastAuditId, stableState } from "./fuzzDatabase";
import type { RawHttpPool, RawResponse } from "./fuzzHttp";
import type { ThrottlePolicy } from "../../server/src/gitAccess";
import { DEFAULT_THROTTLE } from "./testServer";

export interface FuzzSurface {
  name: string;
  knex: Knex;
  pool: RawHttpPool;
  arbitrary: fc.Arbitrary<RequestTemplate>;
  /** The fixture's current secrets and names, filled into each request when it is sent. */
  values: () => FuzzValues;
  /** Whether this answer means the request was accepted and may have changed data (such a batch is not compared). */
  accepted: (request: RequestTemplate, response: RawResponse) => boolean;
  /** Audit actions a refused request is meant to write (failed logins). */
  refusalAudit: string[];
  /** After a batch in which something was accepted: put the fixture back (a deleted token, a logged-out key). */
  heal?: () => Promise<void>;
}

export interface FuzzStats {
  seed: number;
  inputs: number;
  batches: number;
  /** Batches whose refused requests were compared with the database (resent on their own when others in the batch were accepted). */
  comparedBatches: number;
  statuses: Record<number, number>;
  /** How often each error code (or git's first line) came back: which rules the inputs reached. */
  reasons: Record<string, number>;
  ms: number;
  /** Of `ms`: waiting for answers, and reading the database to compare (the rest is generating inputs and healing). */
  msSending: number;
  msComparing: number;
  /** With FUZZ_COLLECT=1 (to survey a change), every problem found instead of failing at the first batch. */
  problems: string[];
}

/**
 * Failed logins are most of what a fuzzer sends: limits high enough that most inputs get past
 * the throttle to the rules behind it, low enough that some runs reach the throttled answers too.
 */
export const FUZZ_THROTTLE: ThrottlePolicy = { ...DEFAULT_THROTTLE, maxFailures: 500, maxFailuresPerAddress: 3000 };

/** Seeded (FUZZ_SEED overrides it, to replay a run) and sized (FUZZ_INPUTS scales every surface). */
export const fuzzSeed = (fallback: number): number => (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : fallback);
export const fuzzInputs = (fallback: number): number => (process.env.FUZZ_INPUTS ? Number(process.env.FUZZ_INPUTS) : fallback);

interface Outcome {
  template: RequestTemplate;
  response: RawResponse | undefined;
  error: string | undefined;
}

const READ_ONLY = new Set(["GET", "HEAD", "OPTIONS"]);
const STANDARD_METHODS = new Set(["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]);

/** The error code of a JSON answer, the first words of a text one. */
function reasonOf(response: RawResponse): string {
  const text = response.body.toString("utf8", 0, Math.min(response.body.length, 300));
  const code = /"code":"(\w+)"/.exec(text)?.[1];
  return `${response.status} ${code ?? text.split(/[\n:'"]/)[0]?.slice(0, 40) ?? ""}`;
}

/** A 5xx, except 501 for a method the service does not know (TRACE, PROPFIND…), its right answer. */
const isFault = (template: RequestTemplate, response: RawResponse): boolean =>
  response.status < 100 ||
  (response.status >= 500 &&
    !(response.status === 501 && !STANDARD_METHODS.has(template.method)) &&
    !isReadinessAnswer(template, response));

/** /readyz answers 503 by design when its check does not answer within its bound (a loaded database). */
const isReadinessAnswer = (template: RequestTemplate, response: RawResponse): boolean =>
  response.status === 503 && /^\/readyz(\?|$)/.test(template.target) && response.body.toString().includes('"unavailable"');

/** Accepted means a 1xx–3xx answer to a method that may write. */
export const acceptedWrite = (request: RequestTemplate, response: RawResponse): boolean =>
  response.status < 400 && !READ_ONLY.has(request.method.toUpperCase());

/**
 * Sends `inputs` generated requests in parallel batches and checks, for every one: an answer
 * (no crash, no reset, no hang) that is not a 5xx; and after every batch that was refused
 * throughout, that the database is exactly as before apart from the counters and audit rows a
 * refusal is meant to write. fast-check shrinks a failing batch to the requests that matter.
 */
export async function fuzzSurface(surface: FuzzSurface, options: { seed: number; inputs: number; batchSize?: number }): Promise<FuzzStats> {
  const batchSize = options.batchSize ?? 100;
  const stats: FuzzStats = {
    seed: options.seed,
    inputs: 0,
    batches: 0,
    comparedBatches: 0,
    statuses: {},
    reasons: {},
    ms: 0,
    msSending: 0,
    msComparing: 0,
    problems: [],
  };
  const collect = process.env.FUZZ_COLLECT === "1";
  const started = performance.now();
  let before = await stableState(surface.knex);
  let auditMark = await lastAuditId(surface.knex);
  const allowedAudit = new Set(surface.refusalAudit);

  const timed = async <T>(field: "msSending" | "msComparing", work: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    try {
      return await work();
    } finally {
      stats[field] += performance.now() - at;
    }
  };
  const send = (templates: RequestTemplate[], values: FuzzValues): Promise<Outcome[]> =>
    timed("msSending", () => sendAll(templates, values));
  const sendAll = (templates: RequestTemplate[], values: FuzzValues): Promise<Outcome[]> =>
    Promise.all(
      templates.map((template) =>
        surface.pool.send(resolveRequest(template, values)).then(
          (response) => ({ template, response, error: undefined }),
          (error: unknown) => ({ template, response: undefined, error: error instanceof Error ? error.message : String(error) }),
        ),
      ),
    );
  const report = (problem: string | undefined) => {
    if (problem && collect) stats.problems.push(problem);
    else if (problem) throw new Error(problem);
  };
  /** The database as before, apart from what refusals are meant to write? */
  const compare = (): Promise<string | undefined> => timed("msComparing", compareNow);
  const compareNow = async (): Promise<string | undefined> => {
    const after = await stableState(surface.knex);
    if (after !== before) return `refused requests changed the database:\n${firstDifference(before, after)}`;
    const unexpected = (await auditSince(surface.knex, auditMark)).filter((row) => !allowedAudit.has(row.action));
    if (unexpected.length) return `refused requests wrote audit events: ${unexpected.map((row) => row.action).join(", ")}`;
    return undefined;
  };
  const rebase = () =>
    timed("msComparing", async () => {
      before = await stableState(surface.knex);
      auditMark = await lastAuditId(surface.knex);
    });

  const property = fc.asyncProperty(fc.array(surface.arbitrary, { minLength: batchSize, maxLength: batchSize }), async (batch) => {
    const values = surface.values();
    const outcomes = await send(batch, values);
    stats.inputs += batch.length;
    stats.batches++;
    const problems: string[] = [];
    for (const { template, response, error } of outcomes) {
      if (!response) {
        problems.push(`no answer (${error ?? ""}): ${describeRequest(template)}`);
        continue;
      }
      stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
      const reason = reasonOf(response);
      stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
      // FUZZ_SHOW="403 not_a_git_request" prints the first requests answered so (to see what a generator reaches).
      if (process.env.FUZZ_SHOW === reason && stats.reasons[reason] <= Number(process.env.FUZZ_SHOW_COUNT ?? 5))
        console.log(`      ${reason}: ${describeRequest(template)}`);
      if (isFault(template, response)) {
        problems.push(`${response.status} ${response.body.toString("utf8").slice(0, 200)}: ${describeRequest(template)}`);
      }
    }
    if (problems.length && collect) stats.problems.push(...problems);
    else if (problems.length)
      throw new Error(`${problems.length} of ${batch.length} requests failed:\n  ${problems.slice(0, 5).join("\n  ")}`);
    const accepted = outcomes.some(({ template, response }) => response && surface.accepted(template, response));
    if (!accepted) {
      const problem = await compare();
      report(problem);
      stats.comparedBatches++;
      // Unchanged, so the snapshot still holds: only the audit watermark moves on.
      if (!problem) {
        auditMark = await lastAuditId(surface.knex);
        return;
      }
    } else {
      // Some requests were accepted and changed data: put the fixture back, then send the
      // refused ones again on their own, and compare those.
      await surface.heal?.();
      await rebase();
      const refused = outcomes.filter(({ template, response }) => response && !surface.accepted(template, response)).map((o) => o.template);
      // With the batch's own secrets: a request refused for a key logged out by another stays refused.
      const again = await send(refused, values);
      if (again.every(({ template, response }) => response && !surface.accepted(template, response) && !isFault(template, response))) {
        const problem = await compare();
        report(problem);
        stats.comparedBatches++;
        if (!problem) {
          auditMark = await lastAuditId(surface.knex);
          return;
        }
      } else {
        await surface.heal?.();
      }
    }
    await rebase();
  });

  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: Math.ceil(options.inputs / batchSize),
    // A bound for a suite gone wrong (the mocha timeout is the other); a normal run takes far less.
    interruptAfterTimeLimit: 400_000,
    markInterruptAsFailure: true,
    endOnFailure: process.env.FUZZ_SHRINK !== "1",
  });
  if (details.failed) {
    // The counterexample itself is a batch of 100 requests, some huge: the error names the few that failed.
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const where = details.interrupted ? "interrupted by its time limit" : `failed at run ${details.numRuns}`;
    throw new Error(`${surface.name} fuzz ${where} (replay with FUZZ_SEED=${details.seed}):\n${cause}`);
  }
  stats.ms = Math.round(performance.now() - started);
  return stats;
}

/** The rows that differ between two stableState dumps, table by table. */
function firstDifference(a: string, b: string): string {
  const before = JSON.parse(a) as Record<string, unknown[]>;
  const after = JSON.parse(b) as Record<string, unknown[]>;
  const lines: string[] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = (before[table] ?? []).map((row) => JSON.stringify(row));
    const now = (after[table] ?? []).map((row) => JSON.stringify(row));
    const gone = was.filter((row) => !now.includes(row));
    const added = now.filter((row) => !was.includes(row));
    if (gone.length || added.length) lines.push(`${table}:`, ...gone.map((row) => `  - ${row}`), ...added.map((row) => `  + ${row}`));
  }
  return lines.join("\n").slice(0, 3000);
}

/** One line for the suite's output: how many inputs, how the answers spread, how long. */
export const formatStats = (name: string, s: FuzzStats): string =>
  `      ${name}: ${s.inputs} inputs in ${s.batches} batches (${s.comparedBatches} compared with the database) in ${(s.ms / 1000).toFixed(1)} s (${(s.msSending / 1000).toFixed(1)} s waiting for answers, ${(s.msComparing / 1000).toFixed(1)} s reading the database), seed ${s.seed}; statuses ${JSON.stringify(s.statuses)}` +
  (process.env.FUZZ_REASONS === "1" ? `\n      reasons ${JSON.stringify(Object.entries(s.reasons).sort((a, b) => b[1] - a[1]))}` : "");

/** Problems grouped by kind (status, error code, odd method or not), each with its count and first example. */
export function problemReport(problems: string[]): string {
  const classes = new Map<string, { count: number; example: string }>();
  for (const problem of problems) {
    const match = /^(\d{3}|no answer)(?:[^:]*:\{"code":"(\w+)")?.*?\}?: ([A-Za-z!#$%&'*+.^_`|~-]+) \//.exec(problem);
    const method = match?.[3] ?? "";
    const key = `${match?.[1] ?? problem.slice(0, 40)} ${match?.[2] ?? ""} ${/^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/.test(method) ? method : "other method"}`;
    const entry = classes.get(key) ?? { count: 0, example: problem.slice(0, 600) };
    entry.count++;
    classes.set(key, entry);
  }
  return [...classes].map(([key, { count, example }]) => `${count} × ${key}\n    e.g. ${example}`).join("\n");
}
