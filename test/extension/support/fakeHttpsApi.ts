/**
 * A stand-in Clarive API over HTTPS (node:https with a test certificate), answering the few routes
 * the sign-in and Configure Git Remote need. For TLS behaviour without the real service: certificate
 * refusals, the CA setting, the git config the command writes.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { checksum, PAT_PREFIX, secretHint, type TokenDto } from "@clarive/shared";
import { tokenFixture } from "./tokens";

const RANDOM_PART = "httpsunittoken0123456789abcdef";
/** A well-formed token the fake's token list knows (by its hint), to paste into Configure Git Remote. */
export const FAKE_API_TOKEN = `${PAT_PREFIX}${RANDOM_PART}${checksum(RANDOM_PART)}`;

function listedToken(now: string): TokenDto {
  const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
  return tokenFixture({ description: "https test", hint: secretHint(FAKE_API_TOKEN), expiresAt, createdAt: now, updatedAt: now });
}

export interface FakeApi {
  url: string;
  close(): Promise<void>;
}

function handler(request: http.IncomingMessage, response: http.ServerResponse): void {
  const json = (status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const now = new Date().toISOString();
  if (request.url === "/api/v1/me") json(200, { id: 7, username: "carol", isAdmin: false, active: true, createdAt: now });
  else if (request.url === "/api/v1/tokens") json(200, [listedToken(now)]);
  else if (request.url === "/api/v1/repositories")
    json(200, [{ id: 1, project: "acme", name: "widgets", fullName: "acme/widgets", patAccess: "inherit", effectivePatAccess: true }]);
  else json(404, { error: { code: "not_found", message: "no such route" } });
}

async function listen(server: http.Server | https.Server, host: string, scheme: string): Promise<FakeApi> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** HTTPS with this certificate and key (PEM files); `host` 127.0.0.1 unless told. */
export function startFakeHttpsApi(certFile: string, keyFile: string, host = "127.0.0.1"): Promise<FakeApi> {
  return listen(https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, handler), host, "https");
}

/** The same API over plain HTTP (to see what an https:// URL to it says). */
export function startFakeHttpApi(host = "127.0.0.1"): Promise<FakeApi> {
  return listen(http.createServer(handler), host, "http");
}
