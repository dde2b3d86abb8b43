import assert from "node:assert/strict";
import { allowListPermits, MAX_ALLOWED_IPS, normalizeAllowList, normalizeAllowListEntry } from "../../server/src/gitAccess/ipAllowList";

const normal = (raw: string) => {
  const result = normalizeAllowListEntry(raw);
  assert.ok(result.ok, `${raw}: ${result.ok ? "" : result.message}`);
  return result.entry;
};

describe("per-token IP allow-lists (gitAccess/ipAllowList.ts)", () => {
  it("accepts IPv4 and IPv6 addresses and CIDR ranges, in normal form", () => {
    assert.equal(normal("192.0.2.7"), "192.0.2.7");
    assert.equal(normal(" 10.1.2.3/8 "), "10.0.0.0/8", "host bits are dropped: the same set of addresses");
    assert.equal(normal("2001:DB8:0:0::1"), "2001:db8::1");
    assert.equal(normal("2001:db8::dead/32"), "2001:db8::/32");
    assert.equal(normal("::ffff:192.0.2.1"), "192.0.2.1", "an IPv4-mapped address is the IPv4 address");
    assert.equal(normal("::ffff:10.0.0.0/104"), "10.0.0.0/8");
    assert.equal(normal("0.0.0.0/0"), "0.0.0.0/0");
    assert.equal(normal("::/0"), "::/0");
  });

  it("refuses anything else, naming the entry", () => {
    for (const bad of [
      "",
      "localhost",
      "127.1",
      "0x7f.0.0.1",
      "192.0.2.256",
      "192.0.2.0/33",
      "192.0.2.0/",
      "192.0.2.0/8x",
      "2001:db8::/129",
      "fe80::1%eth0",
      "1.2.3.4/-1",
      "::ffff:10.0.0.0/95",
    ]) {
      const result = normalizeAllowListEntry(bad);
      assert.equal(result.ok, false, bad);
      if (!result.ok) assert.ok(result.message.includes(`"${bad}"`), result.message);
    }
    const list = normalizeAllowList(["192.0.2.0/24", "nope", "also bad"]);
    assert.ok(!list.ok && list.message.includes('"nope"'), "the first bad entry is named");
  });

  it("drops duplicates (after normalising) and holds at most 20 entries", () => {
    assert.deepEqual(normalizeAllowList(["10.0.0.1/8", "10.0.0.0/8", "192.0.2.1"]), { ok: true, entries: ["10.0.0.0/8", "192.0.2.1"] });
    const many = Array.from({ length: MAX_ALLOWED_IPS + 1 }, (_, i) => `192.0.2.${i}`);
    assert.equal(normalizeAllowList(many).ok, false);
    assert.equal(normalizeAllowList(many.slice(1)).ok, true);
  });

  it("matches addresses against each entry of its own family; an empty list allows anywhere", () => {
    assert.equal(allowListPermits([], "198.51.100.1"), true);
    assert.equal(allowListPermits([], null), true);
    assert.equal(allowListPermits(["127.0.0.0/8"], "127.0.0.2"), true);
    assert.equal(allowListPermits(["127.0.0.0/8"], "::ffff:127.0.0.1"), true);
    assert.equal(allowListPermits(["127.0.0.1"], "127.0.0.2"), false);
    assert.equal(allowListPermits(["2001:db8::/32"], "2001:db8:ffff::1"), true);
    assert.equal(allowListPermits(["2001:db8::/32"], "2001:db9::1"), false);
    assert.equal(allowListPermits(["::/0"], "192.0.2.1"), false, "an IPv6 range never covers an IPv4 client");
    assert.equal(allowListPermits(["0.0.0.0/0"], "192.0.2.1"), true);
    assert.equal(allowListPermits(["192.0.2.0/24"], null), false, "an unknown address matches no non-empty list");
    assert.equal(allowListPermits(["192.0.2.0/24"], "garbage"), false);
  });
});
