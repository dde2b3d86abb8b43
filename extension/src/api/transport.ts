/**
 * How requests reach the server. Without `clarive.caCertificate`: the editor's global `fetch`, which
 * VS Code's extension host extends with the OS's trusted certificates (`http.systemCertificates`,
 * on by default) and proxy support. With it: https requests go through `node:https` with `ca` set to
 * Node's default roots plus the certificates of that PEM file (VS Code's patched `https` keeps an
 * explicit `ca` and its proxy support). The file is read again whenever it changes on disk.
 */
import crypto from "node:crypto";
import fs from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import https from "node:https";
import os from "node:os";
import tls from "node:tls";
import { CA_SETTING, pemCertificateBlocks, resolveCaPath } from "../core/certificates";
import type { FetchFunction } from "./client";
import { CaCertificateError } from "./errors";

function readProblem(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return "there is no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a folder, not a file";
  return error instanceof Error ? error.message : String(error);
}

/** The certificates of a PEM file (one CA, or a bundle), each checked to parse; a clear error otherwise. */
export async function loadCaCertificates(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    throw new CaCertificateError(`The CA certificate file set in ${CA_SETTING} (${file}) cannot be read: ${readProblem(error)}.`, file);
  }
  const blocks = pemCertificateBlocks(text);
  if (blocks.length === 0) {
    throw new CaCertificateError(
      `The file set in ${CA_SETTING} (${file}) holds no PEM certificate: it should contain "-----BEGIN CERTIFICATE-----" (the CA's certificate, not a key).`,
      file,
    );
  }
  blocks.forEach((pem, index) => {
    try {
      new crypto.X509Certificate(pem);
    } catch {
      throw new CaCertificateError(
        `The file set in ${CA_SETTING} (${file}) holds an invalid certificate${blocks.length > 1 ? ` (number ${index + 1})` : ""}: export the CA's certificate as PEM again.`,
        file,
      );
    }
  });
  return blocks;
}

/** Node's default trust (bundled roots, plus NODE_EXTRA_CA_CERTS and the system store when Node is told to use them). */
function defaultCertificates(): readonly string[] {
  const withStores = tls as { getCACertificates?: (type: "default") => string[] };
  return withStores.getCACertificates?.("default") ?? tls.rootCertificates;
}

function headerRecord(headers: RequestInit["headers"]): Record<string, string> {
  return Object.fromEntries(new Headers(headers).entries());
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/** A `fetch` for the client's requests (string bodies, no streaming) over node:https with these CAs. */
export function httpsFetch(ca: readonly string[]): FetchFunction {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const request = https.request(
        new URL(input),
        { method: init.method ?? "GET", headers: headerRecord(init.headers), ca: [...ca], ...(init.signal && { signal: init.signal }) },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const status = response.statusCode ?? 502;
            const body = chunks.length === 0 || [204, 205, 304].includes(status) ? null : Buffer.concat(chunks);
            resolve(new Response(body, { status, statusText: response.statusMessage ?? "", headers: toHeaders(response.headers) }));
          });
        },
      );
      request.on("error", reject);
      if (typeof init.body === "string") request.write(init.body);
      request.end();
    });
}

export interface TransportOptions {
  /** The raw `clarive.caCertificate` value, read at each request so a change applies at once. */
  caCertificate: () => string;
  /** For requests that need no extra CA (default: the global fetch, VS Code's in the editor). */
  fetch?: FetchFunction;
  home?: string;
}

export class Transport {
  private cached: { file: string; mtimeMs: number; size: number; fetch: FetchFunction } | undefined;
  private readonly plainFetch: FetchFunction;
  private readonly home: string;

  constructor(private readonly options: TransportOptions) {
    this.plainFetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.home = options.home ?? os.homedir();
  }

  /** The CA file requests trust on top of the defaults, or undefined; throws CaCertificateError for a bad value. */
  caFile(): string | undefined {
    const resolved = resolveCaPath(this.options.caCertificate(), this.home);
    if (!resolved.ok) throw new CaCertificateError(resolved.message);
    return resolved.path;
  }

  readonly fetch: FetchFunction = async (input, init) => {
    const file = new URL(input).protocol === "https:" ? this.caFile() : undefined;
    if (!file) return this.plainFetch(input, init);
    return (await this.fetchTrusting(file))(input, init);
  };

  private async fetchTrusting(file: string): Promise<FetchFunction> {
    let stat: { mtimeMs: number; size: number } | undefined;
    try {
      stat = await fs.stat(file);
    } catch {
      stat = undefined; // loadCaCertificates words the problem.
    }
    const cached = this.cached;
    if (cached && stat && cached.file === file && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.fetch;
    const certificates = await loadCaCertificates(file);
    const fetchFn = httpsFetch([...defaultCertificates(), ...certificates]);
    if (stat) this.cached = { file, mtimeMs: stat.mtimeMs, size: stat.size, fetch: fetchFn };
    return fetchFn;
  }
}
