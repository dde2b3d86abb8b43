import assert from "node:assert/strict";
import {
  checksum,
  findPersonalAccessTokens,
  redactSecrets,
  generateApiKey,
  generatePersonalAccessToken,
  isWellFormedApiKey,
  isWellFormedPersonalAccessToken,
  secretHint,
} from "@clarive/shared";

describe("token format (shared)", () => {
  it("generates clapat_ + 30 random base62 + 6 checksum characters", () => {
    const token = generatePersonalAccessToken();
    assert.match(token, /^clapat_[0-9A-Za-z]{36}$/);
    assert.equal(token.slice(-6), checksum(token.slice(7, 37)));
    assert.ok(isWellFormedPersonalAccessToken(token));
  });

  it("never repeats and uses the whole alphabet", () => {
    const tokens = new Set(Array.from({ length: 2000 }, generatePersonalAccessToken));
    assert.equal(tokens.size, 2000);
    const seen = new Set([...tokens].flatMap((t) => [...t.slice(7, 37)]));
    assert.equal(seen.size, 62);
  });

  it("rejects a token whose checksum does not match (a single changed character)", () => {
    const token = generatePersonalAccessToken();
    const flipped = token.slice(0, 10) + (token[10] === "a" ? "b" : "a") + token.slice(11);
    assert.equal(isWellFormedPersonalAccessToken(flipped), false);
  });

  it("rejects wrong prefix, length and characters", () => {
    const token = generatePersonalAccessToken();
    for (const bad of [token.replace("clapat_", "clapi_"), token.slice(0, -1), `${token}x`, token.replace(/.$/, "!"), "", "clapat_"]) {
      assert.equal(isWellFormedPersonalAccessToken(bad), false, bad);
    }
  });

  it("keeps API keys and PATs apart", () => {
    const key = generateApiKey();
    assert.match(key, /^clapi_[0-9A-Za-z]{36}$/);
    assert.ok(isWellFormedApiKey(key));
    assert.equal(isWellFormedPersonalAccessToken(key), false);
    assert.equal(isWellFormedApiKey(generatePersonalAccessToken()), false);
  });

  it("checksum is CRC32 in fixed-width base62 (known value)", () => {
    // CRC32("123456789") is the standard check value 0xCBF43926; decode the base62 digits back.
    assert.equal(checksum("123456789").length, 6);
    let value = 0;
    for (const ch of checksum("123456789")) {
      value = value * 62 + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".indexOf(ch);
    }
    assert.equal(value, 0xcbf43926);
  });

  it("hints show the prefix and last four characters only", () => {
    const token = generatePersonalAccessToken();
    assert.equal(secretHint(token), `clapat_…${token.slice(-4)}`);
  });

  it("finds real-looking tokens in text: checksum valid, not glued to a longer word, each once", () => {
    const [a, b] = [generatePersonalAccessToken(), generatePersonalAccessToken()];
    const text = `url=https://alice:${a}@host/x "${b}" again ${a} look-alike ${a.slice(0, -1)}${a.endsWith("x") ? "y" : "x"} glued x${b} ${b}z`;
    assert.deepEqual(findPersonalAccessTokens(text).sort(), [a, b].sort());
    assert.deepEqual(findPersonalAccessTokens("clapat_ nothing here"), []);
  });

  it("redacts anything shaped like a secret to its hint, look-alikes and percent-encoded ones too", () => {
    const [pat, key] = [generatePersonalAccessToken(), generateApiKey()];
    const out = redactSecrets(`/a/${pat}/b ${key} clapat%5Fabcdefgh1234 clapat_short`);
    assert.equal(out, `/a/clapat_…${pat.slice(-4)}/b clapi_…${key.slice(-4)} clapat_…1234 clapat_…hort`);
    assert.equal(redactSecrets("/api/v1/tokens/12"), "/api/v1/tokens/12");
  });
});
