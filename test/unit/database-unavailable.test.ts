import assert from "node:assert/strict";
import { KnexTimeoutError } from "knex";
import pino from "pino";
import { DatabaseAvailability, DatabaseUnreachableError, isDatabaseUnavailable } from "../../server/src/db/unavailable";
import { errorResponse } from "../../server/src/middleware/errors";

const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("a database that cannot be reached", () => {
  const unreachable: [string, unknown][] = [
    ["connection refused", withCode("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432")],
    ["connection reset", withCode("ECONNRESET")],
    ["an unknown host", withCode("ENOTFOUND")],
    ["every address of a host refused", new AggregateError([withCode("ECONNREFUSED"), withCode("ECONNREFUSED")])],
    ["admin_shutdown (a restart, pg_terminate_backend)", withCode("57P01", "terminating connection due to administrator command")],
    ["crash_shutdown", withCode("57P02")],
    ["cannot_connect_now (starting up)", withCode("57P03", "the database system is starting up")],
    ["too_many_connections", withCode("53300")],
    ["read-only after a failover", withCode("25006")],
    ["a connection exception (class 08)", withCode("08006")],
    ["pg's ended connection, as knex words it", new Error("select 1 - Connection terminated unexpectedly")],
    ["pg's connect timeout", new Error("Connection terminated due to connection timeout")],
    // pg's other wording of it: the error it destroys a socket with that never got an answer.
    ["pg's connect timeout, as the socket's error", new Error("timeout expired")],
    ["pg's statement deadline (a server that hangs)", new Error("select 1 - Query read timeout")],
    ["knex's acquire timeout", new KnexTimeoutError("Knex: Timeout acquiring a connection. The pool is probably full.")],
    // What PGlite throws for a statement once close() has begun (its _checkReady).
    ["an embedded database closing", new Error("PGlite is closing")],
    ["an embedded database closed", new Error("PGlite is closed")],
    ["a cause further down", Object.assign(new Error("wrapped"), { cause: withCode("ECONNREFUSED") })],
  ];
  for (const [name, error] of unreachable) {
    it(`recognises ${name}`, () => {
      assert.equal(isDatabaseUnavailable(error), true);
      const answer = errorResponse(error);
      assert.equal(answer.status, 503);
      assert.equal(answer.body.error.code, "database_unavailable");
      assert.match(answer.headers["Retry-After"] ?? "", /^\d+$/);
      assert.equal(answer.internal, false);
    });
  }

  const faults: [string, unknown][] = [
    ["a syntax error", withCode("42601", 'syntax error at or near "selec"')],
    ["a unique violation", withCode("23505", "duplicate key value violates unique constraint")],
    ["a statement timeout", withCode("57014", "canceling statement due to statement timeout")],
    ["a plain error", new Error("boom")],
    ["an error that only mentions a timeout", new Error("lock timeout expired for job 7")],
    ["not an error", "boom"],
  ];
  for (const [name, error] of faults) {
    it(`leaves ${name} a 500`, () => {
      assert.equal(isDatabaseUnavailable(error), false);
      assert.equal(errorResponse(error).status, 500);
    });
  }

  it("refuses at once once nothing has answered for the grace period, until something does", async () => {
    const availability = new DatabaseAvailability();
    availability.assertReachable(0);
    availability.failed(withCode("ECONNREFUSED"));
    availability.assertReachable(60_000); // within the grace period: still asks
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.throws(
      () => availability.assertReachable(1),
      (error: unknown) => error instanceof DatabaseUnreachableError && isDatabaseUnavailable(error),
    );
    assert.equal(errorResponse(new DatabaseUnreachableError()).status, 503);
    availability.answered();
    availability.assertReachable(0);
  });

  it("is logged once when it goes and once when it comes back, not per failure", () => {
    const lines: { msg: string }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const availability = new DatabaseAvailability(logger);
    availability.answered();
    availability.failed(new Error("boom")); // a fault, not an outage
    assert.equal(availability.reachable, true);
    for (let i = 0; i < 50; i++) availability.failed(withCode("ECONNREFUSED"));
    assert.equal(availability.reachable, false);
    for (let i = 0; i < 50; i++) availability.answered();
    assert.equal(availability.reachable, true);
    assert.deepEqual(
      lines.map((line) => line.msg),
      ["database unreachable: REST answers 503 database_unavailable and git is refused until it is back", "database reachable again"],
    );
  });
});
