import assert from "node:assert/strict";
import { nameProblem, resolveExpiry } from "@clarive/shared";

const NOW = new Date("2026-01-01T12:00:00Z");
const DAY = 86_400_000;

describe("limits (shared)", () => {
  describe("resolveExpiry", () => {
    it("accepts 7 and 730 days and refuses 6 and 731, stating the limits", () => {
      assert.deepEqual(resolveExpiry({ expiresInDays: 7 }, 730, NOW), { ok: true, expiresAt: new Date(NOW.getTime() + 7 * DAY) });
      assert.equal(resolveExpiry({ expiresInDays: 730 }, 730, NOW).ok, true);
      for (const days of [6, 731, 0, -1, 7.5]) {
        const result = resolveExpiry({ expiresInDays: days }, 730, NOW);
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.message, /between 7 and 730 days/);
      }
    });

    it("caps at the server's maxLifetimeDays", () => {
      const result = resolveExpiry({ expiresInDays: 91 }, 90, NOW);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, /between 7 and 90 days/);
      assert.equal(resolveExpiry({ expiresInDays: 90 }, 90, NOW).ok, true);
    });

    it("measures dates exactly: 6 days and 1 hour is not 7 days, nor maxLifetimeDays and 1 second", () => {
      assert.equal(resolveExpiry({ expiresAt: new Date("2026-01-08T12:00:00Z") }, 730, NOW).ok, true);
      const short = resolveExpiry({ expiresAt: new Date("2026-01-07T13:00:00Z") }, 730, NOW);
      assert.equal(short.ok, false);
      if (!short.ok) assert.match(short.message, /between 7 and 730 days from now; 2026-01-07T13:00:00.000Z is 6.04 days away/);
      assert.equal(resolveExpiry({ expiresAt: new Date("2026-01-08T11:59:59Z") }, 730, NOW).ok, false);
      assert.equal(resolveExpiry({ expiresAt: new Date("2026-01-31T12:00:00Z") }, 30, NOW).ok, true);
      assert.equal(resolveExpiry({ expiresAt: new Date("2026-01-31T12:00:01Z") }, 30, NOW).ok, false);
      assert.equal(resolveExpiry({ expiresAt: new Date("2020-01-01") }, 730, NOW).ok, false);
      assert.equal(resolveExpiry({ expiresAt: new Date("nonsense") }, 730, NOW).ok, false);
    });
  });

  describe("nameProblem", () => {
    it("accepts ordinary names", () => {
      for (const name of ["widgets", "a", "A-b_c.d", "x".repeat(100)]) assert.equal(nameProblem("repository", name), null);
    });
    it("refuses traversal, .git suffixes, odd characters and length", () => {
      for (const name of ["..", "a..b", "-x", ".hidden", "x.git", "X.GIT", "a/b", "a b", "", "x".repeat(101), "é"]) {
        assert.notEqual(nameProblem("repository", name), null, name);
      }
    });
  });
});
