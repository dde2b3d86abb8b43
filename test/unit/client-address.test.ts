import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { clientAddress } from "../../server/src/http/clientAddress";

const req = (peer: string, headers: Record<string, string | string[]> = {}) =>
  ({ headers, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;

describe("client address (one reading for REST, git and the auth hook)", () => {
  it("is the peer unless TRUST_PROXY: forwarding headers from a client are never believed", () => {
    assert.equal(clientAddress(req("198.51.100.7", { "x-forwarded-for": "192.0.2.1", "x-real-ip": "192.0.2.2" }), false), "198.51.100.7");
    assert.equal(clientAddress(req("127.0.0.1", { "x-real-ip": "192.0.2.2" }), true), "127.0.0.1");
  });

  it("with TRUST_PROXY, the last X-Forwarded-For entry: the one our proxy added, not what the client sent", () => {
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": "10.9.9.9, 192.0.2.1" }), true), "192.0.2.1");
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": ["10.9.9.9", "192.0.2.1"] }), true), "192.0.2.1");
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": "2001:db8::1" }), true), "2001:db8::1");
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": "garbage" }), true), "127.0.0.1", "not an address: the peer");
  });

  it("with TRUST_PROXY, an entry with a port (as some load balancers write it) is the address without it", () => {
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": "192.0.2.1:5123" }), true), "192.0.2.1");
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": "[2001:db8::1]:5123" }), true), "2001:db8::1");
    assert.equal(clientAddress(req("127.0.0.1", { "x-forwarded-for": "[2001:db8::1]" }), true), "2001:db8::1");
  });

  it("reads IPv4-mapped IPv6 peers as plain IPv4", () => {
    assert.equal(clientAddress(req("::ffff:192.0.2.5"), false), "192.0.2.5");
    assert.equal(clientAddress(req("::1"), false), "::1");
  });
});
