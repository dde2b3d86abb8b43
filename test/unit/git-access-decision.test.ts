import assert from "node:assert/strict";
import { generateApiKey, generatePersonalAccessToken, secretHint } from "@clarive/shared";
import {
  decide,
  readCredentials,
  type Fact,
  type GitAccessDecision,
  type GitAccessFacts,
  type GitAccessRequest,
  type RepositoryFacts,
  type ThrottleState,
  type TokenFacts,
  type TokenLookup,
} from "../../server/src/gitAccess/decision";
import type { AccessLevel } from "../../server/src/repositories/gitRepositories";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const DAY = 86_400_000;
const SECRET = generatePersonalAccessToken();

/** Everything the loader could find for one request; `decide` asks for it fact by fact. */
interface World {
  throttles: ThrottleState[];
  token: TokenLookup;
  repository: RepositoryFacts | null;
  patAuthEnabled: boolean;
  ownerAccess: AccessLevel | null;
}

const token = (changes: Partial<TokenFacts> = {}): TokenFacts => ({
  id: 7,
  user_id: 3,
  permission: "read-write",
  all_repositories: true,
  active: true,
  expires_at: new Date(NOW + 30 * DAY),
  username: "alice",
  user_active: true,
  is_admin: false,
  scope: [],
  retired_until: null,
  allowed_ips: [],
  ...changes,
});

const world = (changes: Partial<World> = {}): World => ({
  throttles: [],
  token: token(),
  repository: { id: 11, patAccess: "inherit" },
  patAuthEnabled: true,
  ownerAccess: "write",
  ...changes,
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

function request(changes: Partial<GitAccessRequest> = {}): GitAccessRequest {
  return { authorization: basic("alice", SECRET), project: "acme", repository: "widgets", write: false, ip: "192.0.2.1", ...changes };
}

/** Runs the decision to its end as the loader does, recording which facts it asked for. */
function run(req: GitAccessRequest, w: World): { decision: GitAccessDecision; loaded: Fact[] } {
  const credentials = readCredentials(req.authorization, req.ip);
  const facts: GitAccessFacts = { now: NOW };
  const loaded: Fact[] = [];
  for (let steps = 0; steps < 10; steps++) {
    const step = decide(req, credentials, facts);
    if (!("need" in step)) return { decision: step, loaded };
    assert.ok(!loaded.includes(step.need), `${step.need} asked for twice`);
    loaded.push(step.need);
    facts[step.need] = w[step.need] as never;
  }
  throw new Error("the decision never ended");
}

function refused(req: GitAccessRequest, w: World, status: number, message: RegExp) {
  const { decision, loaded } = run(req, w);
  assert.equal(decision.ok, false, "refused");
  if (decision.ok) throw new Error("unreachable");
  assert.equal(decision.status, status);
  assert.match(decision.message, message);
  return { decision, loaded };
}

function granted(req: GitAccessRequest, w: World) {
  const { decision, loaded } = run(req, w);
  assert.deepEqual(decision, {
    ok: true,
    username: "alice",
    tokenId: 7,
    expiresAt: w.token && "expires_at" in w.token ? w.token.expires_at : undefined,
  });
  return loaded;
}

describe("git access decision (pure, DESIGN §5)", () => {
  it("grants a live token within its scope, loading each fact once, in order", () => {
    assert.deepEqual(granted(request(), world()), ["throttles", "token", "repository", "patAuthEnabled", "ownerAccess"]);
    assert.deepEqual(granted(request({ write: true }), world()), ["throttles", "token", "repository", "patAuthEnabled", "ownerAccess"]);
  });

  describe("401: no or bad credentials", () => {
    it("no Authorization header is git's normal challenge: not a failed login, nothing loaded", () => {
      const { decision, loaded } = refused(request({ authorization: undefined }), world(), 401, /Authentication required/);
      assert.equal(decision.failedLogin, false);
      assert.deepEqual(loaded, []);
    });

    it("a header that is not Basic, or Basic without a colon, is a failed login", () => {
      for (const authorization of ["Bearer x", "Basic !!!", `Basic ${Buffer.from("no-colon").toString("base64")}`]) {
        const { decision } = refused(request({ authorization }), world(), 401, /HTTP Basic/);
        assert.equal(decision.failedLogin, true, authorization);
      }
    });

    it("a token typed as the username, or an API key as the password, is refused with the fix", () => {
      refused(request({ authorization: basic(SECRET, "x") }), world(), 401, /username in the username/);
      refused(request({ authorization: basic("alice", generateApiKey()) }), world(), 401, /API keys are for the REST API/);
    });

    it("a malformed token or a bad checksum is refused without looking the token up", () => {
      const flipped = SECRET.slice(0, 12) + (SECRET[12] === "a" ? "b" : "a") + SECRET.slice(13);
      for (const password of ["hunter2", flipped, `${SECRET}x`]) {
        const { decision, loaded } = refused(
          request({ authorization: basic("alice", password) }),
          world(),
          401,
          /Invalid username or token/,
        );
        assert.equal(decision.reason, "malformed token");
        assert.deepEqual(loaded, ["throttles"]);
      }
    });

    it("an unknown token, another user's name, a deactivated owner, an inactive or an expired token", () => {
      const cases: [Partial<World>, GitAccessRequest, string][] = [
        [{ token: null }, request(), "unknown token"],
        [{}, request({ authorization: basic("bob", SECRET) }), "token used with another username"],
        [{ token: token({ user_active: false }) }, request(), "owner deactivated"],
        [{ token: token({ active: false }) }, request(), "token inactive"],
        [{ token: token({ expires_at: new Date(NOW) }) }, request(), "token expired"],
      ];
      for (const [w, req, reason] of cases) {
        const { decision, loaded } = refused(req, world(w), 401, /./);
        assert.equal(decision.reason, reason);
        assert.equal(decision.failedLogin, true, reason);
        assert.deepEqual(loaded, ["throttles", "token"], `${reason}: a refused login never loads the repository`);
      }
    });

    it("only guesses count toward a lockout: a real token refused as deactivated, deleted or expired does not", () => {
      const guesses: [Partial<World>, GitAccessRequest][] = [
        [{ token: null }, request()],
        [{}, request({ authorization: basic("bob", SECRET) })],
        [{}, request({ authorization: basic("alice", "hunter2") })],
      ];
      for (const [w, req] of guesses) {
        const { decision } = refused(req, world(w), 401, /Invalid username or token/);
        assert.equal(decision.countsTowardLockout, true, decision.reason);
      }
      const known: [Partial<World>, string][] = [
        [{ token: token({ active: false }) }, "token inactive"],
        [{ token: token({ expires_at: new Date(NOW - DAY) }) }, "token expired"],
        [{ token: { deleted: true, token_id: 7, user_id: 3 } }, "token deleted"],
        [{ token: token({ user_active: false }) }, "owner deactivated"],
        [{ token: token({ retired_until: new Date(NOW - 1) }) }, "rotated-out secret reused"],
      ];
      for (const [w, reason] of known) {
        const { decision } = refused(request(), world(w), 401, /./);
        assert.equal(decision.reason, reason);
        assert.equal(decision.failedLogin, true, `${reason} is audited`);
        assert.equal(decision.countsTowardLockout, false, `${reason} is no guess`);
      }
    });

    it("the username matches whatever its case; a token a millisecond before expiry still works", () => {
      granted(request({ authorization: basic("ALICE", SECRET) }), world());
      granted(request(), world({ token: token({ expires_at: new Date(NOW + 1) }) }));
    });
  });

  it("a secret rotated out works until its grace window ends; after it, it is reuse, flagged for the owner", () => {
    granted(request(), world({ token: token({ retired_until: new Date(NOW + 1) }) }));
    const { decision, loaded } = refused(
      request(),
      world({ token: token({ retired_until: new Date(NOW) }) }),
      401,
      /Invalid username or token/,
    );
    assert.equal(decision.reason, "rotated-out secret reused");
    assert.equal(decision.reusedTokenId, 7);
    assert.equal(decision.failedLogin, true);
    assert.deepEqual(loaded, ["throttles", "token"]);
    // Inside its window it is still bound by every other rule.
    refused(
      request({ write: true }),
      world({ token: token({ retired_until: new Date(NOW + 60_000), permission: "read" }) }),
      403,
      /read-only/,
    );
  });

  it("429 while the address or the username is blocked, with the seconds left; a lapsed block is no block", () => {
    const blocked = { failures: 10, windowStartedAt: NOW - 1000, blockedUntil: NOW + 90_500 };
    const { decision, loaded } = refused(request(), world({ throttles: [blocked] }), 429, /Too many failed logins/);
    assert.equal(decision.retryAfterSeconds, 91);
    assert.equal(decision.failedLogin, false);
    assert.deepEqual(loaded, ["throttles"]);
    granted(request(), world({ throttles: [{ ...blocked, blockedUntil: NOW }] }));
  });

  it("404 for a repository that does not exist (valid credentials)", () => {
    const { loaded } = refused(request(), world({ repository: null }), 404, /acme\/widgets not found/);
    assert.deepEqual(loaded, ["throttles", "token", "repository"]);
  });

  describe("403: good credentials, not allowed here", () => {
    it("PAT access: inherit follows the global switch, true and false override it", () => {
      refused(request(), world({ patAuthEnabled: false }), 403, /not allowed for acme\/widgets/);
      refused(request(), world({ repository: { id: 11, patAccess: "false" } }), 403, /not allowed/);
      granted(request(), world({ repository: { id: 11, patAccess: "true" }, patAuthEnabled: false }));
    });

    it("a repository outside the token's scope; inside it is fine", () => {
      const scoped = (scope: number[]) => world({ token: token({ all_repositories: false, scope }) });
      refused(request(), scoped([12]), 403, /does not grant access to acme\/widgets/);
      refused(request(), scoped([]), 403, /does not grant access/);
      granted(request(), scoped([12, 11]));
    });

    it("the owner's own access, at the time of the request: none, or read-only for a push", () => {
      refused(request(), world({ ownerAccess: null }), 403, /alice has no access to acme\/widgets/);
      refused(request({ write: true }), world({ ownerAccess: "read" }), 403, /alice has read-only access/);
      granted(request(), world({ ownerAccess: "read" }));
    });

    it("an admin owner writes everywhere without a membership (none is looked up)", () => {
      const loaded = granted(request({ write: true }), world({ token: token({ is_admin: true }), ownerAccess: null }));
      assert.ok(!loaded.includes("ownerAccess"));
    });

    it("a read-only token clones but does not push", () => {
      const readOnly = world({ token: token({ permission: "read" }) });
      granted(request(), readOnly);
      const { decision } = refused(request({ write: true }), readOnly, 403, /read-only: pushing needs a read & write token/);
      assert.equal(decision.failedLogin, false);
    });
  });

  describe("per-token IP allow-list", () => {
    const allowing = (...allowed_ips: string[]) => world({ token: token({ allowed_ips }) });
    it("an address outside the list is refused with 403 naming it, before the repository is looked up; not counted", () => {
      const { decision, loaded } = refused(
        request({ ip: "198.51.100.9" }),
        allowing("192.0.2.0/24"),
        403,
        /^This token cannot be used from 198\.51\.100\.9$/,
      );
      assert.deepEqual(loaded, ["throttles", "token"]);
      assert.equal(decision.countsTowardLockout, false);
      refused(request({ ip: "2001:db8::1" }), allowing("192.0.2.0/24"), 403, /cannot be used from 2001:db8::1/);
      refused(request({ ip: null }), allowing("192.0.2.0/24"), 403, /cannot be used from an unknown address/);
    });
    it("IPv4, IPv6 and CIDR entries; an empty list allows anywhere", () => {
      granted(request({ ip: "192.0.2.77" }), allowing("192.0.2.0/24"));
      granted(request({ ip: "203.0.113.5" }), allowing("10.0.0.0/8", "203.0.113.5"));
      granted(request({ ip: "2001:db8:0:1::42" }), allowing("2001:db8::/32"));
      granted(request({ ip: "::1" }), allowing("::1"));
      refused(request({ ip: "2001:db9::1" }), allowing("2001:db8::/32"), 403, /cannot be used/);
      granted(request({ ip: "198.51.100.9" }), allowing());
    });
  });

  describe("readCredentials", () => {
    it("counts failures per address and per username at that address (lower-cased); without a username, per address only", () => {
      assert.deepEqual(readCredentials(basic("Alice", "x"), "192.0.2.1").throttleKeys, ["ip:192.0.2.1", "login:192.0.2.1 alice"]);
      assert.deepEqual(readCredentials(basic("", "x"), null).throttleKeys, ["ip:unknown"]);
      assert.deepEqual(readCredentials(undefined, "192.0.2.1").throttleKeys, ["ip:192.0.2.1"]);
    });

    it("never keeps a secret or a control character in the username it stores", () => {
      const pasted = readCredentials(basic(SECRET, "x"), "192.0.2.1");
      assert.equal(pasted.username, secretHint(SECRET));
      assert.ok(!pasted.throttleKeys.some((key) => key.includes(SECRET)));
      const nul = readCredentials(basic("al\u0000ice\n", "x"), "192.0.2.1");
      assert.equal(nul.username, "al\uFFFDice\uFFFD");
      assert.equal(nul.basic?.username, "al\u0000ice\n", "the decision still compares what was sent");
    });
  });
});
