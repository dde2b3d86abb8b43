import assert from "node:assert/strict";
import { expiryState, formatDate, relativeExpiry, tokensExpiringSoon } from "../../../extension/src/core/expiry";
import { DAY, NOW, tokenFixture } from "../support/tokens";

const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

describe("expiry formatting", () => {
  it("words the time left in hours, days, months and years", () => {
    assert.equal(relativeExpiry(at(30 * 60 * 1000), NOW), "expires in less than an hour");
    assert.equal(relativeExpiry(at(5 * 60 * 60 * 1000), NOW), "expires in 5 hours");
    assert.equal(relativeExpiry(at(1.2 * DAY), NOW), "expires tomorrow");
    assert.equal(relativeExpiry(at(30 * DAY - 60_000), NOW), "expires in 30 days", "a 30-day token created a minute ago");
    assert.equal(relativeExpiry(at(5 * DAY + 1000), NOW), "expires in 5 days");
    assert.equal(relativeExpiry(at(30 * DAY + 1000), NOW), "expires in 30 days");
    assert.equal(relativeExpiry(at(90 * DAY + 1000), NOW), "expires in 3 months");
    assert.equal(relativeExpiry(at(730 * DAY + 1000), NOW), "expires in 2 years");
  });

  it("says when a token expired", () => {
    assert.equal(relativeExpiry(at(-10 * 60 * 1000), NOW), "expired just now");
    assert.equal(relativeExpiry(at(-3 * DAY), NOW), "expired 3 days ago");
    assert.equal(relativeExpiry(at(-1 * DAY), NOW), "expired 1 day ago");
  });

  it("flags tokens under the warning days, and expired ones as expired even if the server lags", () => {
    assert.equal(expiryState(tokenFixture({}, 30), 7, NOW), "ok");
    assert.equal(expiryState(tokenFixture({}, 6), 7, NOW), "warning");
    assert.equal(expiryState(tokenFixture({}, 7), 7, NOW), "ok");
    assert.equal(expiryState(tokenFixture({}, 6), 3, NOW), "ok");
    assert.equal(expiryState(tokenFixture({ expired: true }, 30), 7, NOW), "expired");
    assert.equal(expiryState(tokenFixture({}, -1), 7, NOW), "expired");
  });

  it("lists active tokens expiring soon, soonest first, not expired or inactive ones", () => {
    const tokens = [
      tokenFixture({ id: 1, description: "later" }, 5),
      tokenFixture({ id: 2, description: "sooner" }, 2),
      tokenFixture({ id: 3, description: "inactive", active: false }, 1),
      tokenFixture({ id: 4, description: "expired" }, -1),
      tokenFixture({ id: 5, description: "fine" }, 60),
    ];
    assert.deepEqual(
      tokensExpiringSoon(tokens, 7, NOW).map((t) => t.description),
      ["sooner", "later"],
    );
  });

  it("formats dates in UTC, whatever the machine's zone", () => {
    assert.equal(formatDate("2026-06-01T08:30:00.000Z"), "2026-06-01 08:30 UTC");
    assert.equal(formatDate("not a date"), "not a date");
  });
});
