import net from "node:net";

/** A request as bytes go on the wire: any method, target and header text, even ones fetch() refuses to send. */
export interface RawRequest {
  method: string;
  /** The request target exactly as sent: "/api/v1/../x", "//a%25b", "/git/a\\b". */
  target: string;
  headers: [name: string, value: string][];
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

const HEADER_END = Buffer.from("\r\n\r\n");

/**
 * Reads HTTP/1.1 responses off one keep-alive connection. Knows exactly the framing a server
 * may use: Content-Length, chunked, or (after `Connection: close`) the end of the stream.
 */
class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
  }

  end(): void {
    this.ended = true;
  }

  /** The next complete response, or undefined while more bytes are needed. Skips 1xx answers. */
  take(method: string): RawResponse | undefined {
    for (;;) {
      const headerEnd = this.buffer.indexOf(HEADER_END);
      if (headerEnd < 0) return undefined;
      const head = this.buffer.subarray(0, headerEnd).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const start = headerEnd + HEADER_END.length;
      if (status >= 100 && status < 200) {
        this.buffer = this.buffer.subarray(start);
        continue;
      }
      const body = this.body(method, status, headers, start);
      return body && { status, headers, body };
    }
  }

  private body(method: string, status: number, headers: Record<string, string>, start: number): Buffer | undefined {
    if (method === "HEAD" || status === 204 || status === 304) return this.consume(start, 0);
    if (/chunked/i.test(headers["transfer-encoding"] ?? "")) return this.chunked(start);
    const length = headers["content-length"];
    if (length !== undefined) return this.buffer.length - start >= Number(length) ? this.consume(start, Number(length)) : undefined;
    return this.ended ? this.consume(start, this.buffer.length - start) : undefined;
  }

  private chunked(start: number): Buffer | undefined {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = this.buffer.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(this.buffer.subarray(at, lineEnd).toString("latin1"), 16);
      if (size === 0) {
        const trailerEnd = this.buffer.indexOf("\r\n", lineEnd + 2);
        if (trailerEnd < 0) return undefined;
        this.buffer = this.buffer.subarray(trailerEnd + 2);
        return Buffer.concat(parts);
      }
      if (this.buffer.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }

  private consume(start: number, length: number): Buffer {
    const body = Buffer.from(this.buffer.subarray(start, start + length));
    this.buffer = this.buffer.subarray(start + length);
    return body;
  }
}

/** The bytes of one request; framing (Host, Content-Length) is always honest so the connection stays usable. */
export function encodeRequest(request: RawRequest, host: string): Buffer {
  const body = request.body ?? Buffer.alloc(0);
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of request.headers) {
    if (/^(host|content-length|transfer-encoding|connection)$/i.test(name)) continue;
    lines.push(`${name}: ${value}`);
  }
  if (body.length > 0 || !["GET", "HEAD"].includes(request.method)) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]);
}

class StaleConnection extends Error {}

/** One connection, one request at a time; reconnects after the server closes it. */
class Connection {
  private socket: net.Socket | undefined;
  private reader = new ResponseReader();
  private received = 0;
  private waiting: { method: string; resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  /** Retries once on a new connection when a reused one was closed (idle timeout) before any byte came back. */
  async send(request: RawRequest): Promise<RawResponse> {
    const reused = this.socket !== undefined;
    try {
      return await this.sendOnce(request);
    } catch (error) {
      if (!reused || !(error instanceof StaleConnection)) throw error;
      return this.sendOnce(request);
    }
  }

  private sendOnce(request: RawRequest): Promise<RawResponse> {
    const socket = this.socket ?? this.connect();
    this.received = 0;
    return new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drop();
        reject(new Error(`no answer within ${this.timeoutMs} ms to ${request.method} ${request.target.slice(0, 200)}`));
      }, this.timeoutMs);
      this.waiting = {
        method: request.method,
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      socket.write(encodeRequest(request, `${this.host}:${this.port}`));
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): net.Socket {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    this.socket = socket;
    this.reader = new ResponseReader();
    socket.on("data", (chunk: Buffer) => {
      this.received += chunk.length;
      this.reader.push(chunk);
      this.deliver();
    });
    const finished = () => {
      if (this.socket !== socket) return;
      this.reader.end();
      this.deliver();
      this.socket = undefined;
      const waiting = this.waiting;
      this.waiting = undefined;
      // The server hung up without a complete answer: a crash or a reset, never a valid outcome.
      const message = `connection closed without a response to a ${waiting?.method ?? ""}`;
      waiting?.reject(this.received === 0 ? new StaleConnection(message) : new Error(message));
    };
    socket.on("end", finished);
    socket.on("close", finished);
    socket.on("error", finished);
    return socket;
  }

  private deliver(): void {
    if (!this.waiting) return;
    const response = this.reader.take(this.waiting.method);
    if (!response) return;
    const waiting = this.waiting;
    this.waiting = undefined;
    // After `Connection: close` the next request needs a new connection.
    if (/close/i.test(response.headers.connection ?? "")) this.drop();
    waiting.resolve(response);
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }
}

/** A fixed number of keep-alive connections to one server; requests queue for a free one. */
export class RawHttpPool {
  private readonly idle: Connection[] = [];
  private readonly queue: ((connection: Connection) => void)[] = [];

  constructor(url: string, size: number, timeoutMs = 20_000) {
    const { hostname, port } = new URL(url);
    for (let i = 0; i < size; i++) this.idle.push(new Connection(hostname, Number(port), timeoutMs));
  }

  async send(request: RawRequest): Promise<RawResponse> {
    const connection = this.idle.pop() ?? (await new Promise<Connection>((resolve) => this.queue.push(resolve)));
    try {
      return await connection.send(request);
    } finally {
      const next = this.queue.shift();
      if (next) next(connection);
      else this.idle.push(connection);
    }
  }

  close(): void {
    for (const connection of this.idle) connection.close();
  }
}
