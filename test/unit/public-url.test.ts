import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { parseConfig, type ServiceConfig } from "../../server/src/config";
import { forwardedProto, requestPublicUrl } from "../../server/src/http/publicUrl";

const request = (headers: Record<string, string | string[]>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
const config = (env: Record<string, string>): ServiceConfig => {
  const parsed = parseConfig(env);
  return { ...parsed, publicUrl: parsed.publicUrl ?? "http://127.0.0.1:8080", publicUrlIsExplicit: parsed.publicUrl !== undefined };
};

describe("the public URL a request is told", () => {
  it("X-Forwarded-Proto: only with TRUST_PROXY, only its last entry, only http or https", () => {
    assert.equal(forwardedProto(request({ "x-forwarded-proto": "https" }), false), undefined);
    assert.equal(forwardedProto(request({ "x-forwarded-proto": "https" }), true), "https");
    assert.equal(forwardedProto(request({ "x-forwarded-proto": "https, http" }), true), "http");
    assert.equal(forwardedProto(request({ "x-forwarded-proto": ["http", "HTTPS "] }), true), "https");
    assert.equal(forwardedProto(request({ "x-forwarded-proto": "gopher" }), true), undefined);
  });

  it("behind a trusted proxy: the forwarded scheme with the Host the client asked for", () => {
    const trusted = config({ TRUST_PROXY: "true" });
    assert.equal(requestPublicUrl(request({ "x-forwarded-proto": "https", host: "git.example.com" }), trusted), "https://git.example.com");
    assert.equal(requestPublicUrl(request({ "x-forwarded-proto": "https", host: "[::1]:8443" }), trusted), "https://[::1]:8443");
    // A Host that could end the URL's authority early is not used; the listen address is.
    assert.equal(requestPublicUrl(request({ "x-forwarded-proto": "https", host: "evil.com/x?" }), trusted), "https://127.0.0.1:8080");
    assert.equal(requestPublicUrl(request({ host: "git.example.com" }), trusted), "http://127.0.0.1:8080");
  });

  it("PUBLIC_URL wins, and without TRUST_PROXY nothing forwarded counts", () => {
    const explicit = config({ TRUST_PROXY: "true", PUBLIC_URL: "https://git.example.com/" });
    assert.equal(requestPublicUrl(request({ "x-forwarded-proto": "http", host: "other" }), explicit), "https://git.example.com");
    assert.equal(requestPublicUrl(request({ "x-forwarded-proto": "https", host: "other" }), config({})), "http://127.0.0.1:8080");
  });
});
