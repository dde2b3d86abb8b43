import { spawn } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { isWellFormedPersonalAccessToken, PAT_PREFIX, SECRET_BODY_LENGTH } from "@clarive/shared";
import type { GitProcessHost } from "../processHost";
import { readQuarantinedObjects } from "./quarantineReader";

/** Blobs larger than this are read only when they look like text (no NUL in their first 8000 bytes, git's own test). */
export const SCAN_FULLY_UP_TO_BYTES = 8 * 1024 * 1024;
const BINARY_SNIFF_BYTES = 8000;
/**
 * Distinct well-formed strings (checksum valid) one push may carry; past this the push is
 * refused (fail closed) rather than checked in part: otherwise a file of generated look-alikes
 * placed before a live token would hide it. Look-alikes with a bad checksum never count.
 */
export const MAX_CANDIDATES = 10_000;
const TOKEN_LENGTH = PAT_PREFIX.length + SECRET_BODY_LENGTH;
const NEWLINE = Buffer.from("\n");
/** A token as text (a ref name): the prefix and its 36 characters; the checksum is checked by whoever looks them up. */
export const TOKEN_SHAPE = new RegExp(`${PAT_PREFIX}[0-9A-Za-z]{${SECRET_BODY_LENGTH}}`, "g");

/** How a token's characters can be stored: as bytes (ASCII, UTF-8, latin1) or UTF-16 either way round. */
interface Encoding {
  prefix: Buffer;
  /** Bytes per character. */
  width: 1 | 2;
  /** Where in a character's bytes the ASCII byte is (the other one is 0). */
  low: 0 | 1;
}
const utf16le = Buffer.from(PAT_PREFIX, "utf16le");
const ENCODINGS: Encoding[] = [
  { prefix: Buffer.from(PAT_PREFIX, "latin1"), width: 1, low: 0 },
  { prefix: utf16le, width: 2, low: 0 },
  { prefix: Buffer.from(utf16le).swap16(), width: 2, low: 1 },
];

/** Most objects hold no token prefix in any encoding: nothing to search. */
export const mayHoldToken = (content: Buffer): boolean => ENCODINGS.some((encoding) => content.includes(encoding.prefix));

const isBase62 = (byte: number) => (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122);

/** A token-shaped string and the objects it was found in. */
export interface Candidate {
  secret: string;
  objectIds: string[];
}
/** Enough objects per string to tell whether any is new. */
const MAX_OBJECTS_PER_CANDIDATE = 20;

/**
 * Finds token-shaped strings (prefix + 36 base62 characters, in one encoding; the checksum is
 * checked by the caller) in a byte stream that arrives in chunks: the last bytes of each chunk
 * are kept so a token cut across two chunks is still found.
 */
class TokenSearch {
  private tail = Buffer.alloc(0);
  private readonly length: number;

  constructor(
    private readonly encoding: Encoding,
    private readonly found: (secret: string) => void,
  ) {
    this.length = TOKEN_LENGTH * encoding.width;
  }

  feed(chunk: Buffer): void {
    const { prefix, width, low } = this.encoding;
    const window = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    for (let at = window.indexOf(prefix); at >= 0; at = window.indexOf(prefix, at + 1)) {
      if (at + this.length > window.length) break; // may be completed by the next chunk: kept in the tail
      let body = true;
      for (let i = at + prefix.length; i < at + this.length && body; i += width) {
        body = isBase62(window[i + low] as number) && (width === 1 || window[i + 1 - low] === 0);
      }
      if (body) this.found(decode(window.subarray(at, at + this.length), this.encoding));
    }
    this.tail = Buffer.from(window.subarray(Math.max(0, window.length - (this.length - 1))));
  }
}

/** The token's characters, from bytes already checked to be the prefix and base62 characters in this encoding. */
function decode(bytes: Buffer, { width, low }: Encoding): string {
  if (width === 1) return bytes.toString("latin1");
  return (low === 0 ? bytes : Buffer.from(bytes).swap16()).toString("utf16le");
}

/** Searches one object's bytes for tokens in every encoding. */
const searchesFor = (found: (secret: string) => void) => ENCODINGS.map((encoding) => new TokenSearch(encoding, found));

type ObjectState =
  | { phase: "header" }
  | {
      phase: "body";
      objectId: string;
      left: number;
      mode: "scan" | "sniff" | "skip";
      sniffed: Buffer[];
      searches: TokenSearch[];
      hash: Hash;
    }
  | { phase: "newline"; objectId: string; hash: Hash };

/** The push carries more distinct well-formed token strings than are checked (MAX_CANDIDATES). */
export class TooManyCandidatesError extends Error {
  constructor() {
    super(`more than ${MAX_CANDIDATES} distinct token-shaped strings with a valid checksum`);
  }
}

/**
 * Reads `git cat-file --batch` output — "<id> <type> <size>\n<content>\n" per object — and
 * collects well-formed token strings (checksum valid), as bytes or UTF-16. A blob over the size
 * limit is read only if its first 8000 bytes hold no NUL byte.
 */
export class BatchScanner {
  readonly candidates = new Map<string, Set<string>>();
  private state: ObjectState = { phase: "header" };
  private header = "";

  private note = (objectId: string) => (secret: string) => {
    const objects = this.candidates.get(secret);
    if (objects) {
      if (objects.size < MAX_OBJECTS_PER_CANDIDATE) objects.add(objectId);
    } else if (isWellFormedPersonalAccessToken(secret)) {
      if (this.candidates.size >= MAX_CANDIDATES) throw new TooManyCandidatesError();
      this.candidates.set(secret, new Set([objectId]));
    }
  };

  /** Whether the output so far ended between objects (not inside a header or a body). */
  get complete(): boolean {
    return this.state.phase === "header" && this.header === "";
  }

  /** One whole object, as `git cat-file --batch` would show it. */
  object(id: string, type: string, content: Buffer): void {
    if (!mayHoldToken(content)) return;
    this.feed(Buffer.from(`${id} ${type} ${content.length}\n`, "latin1"));
    if (content.length > 0) this.feed(content);
    this.feed(NEWLINE);
  }

  feed(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const state = this.state;
      if (state.phase === "header") {
        const end = chunk.indexOf(10, offset);
        this.header += chunk.toString("latin1", offset, end < 0 ? chunk.length : end);
        if (end < 0) return;
        offset = end + 1;
        this.startObject(this.header);
        this.header = "";
      } else if (state.phase === "newline") {
        if (chunk[offset] !== 10 || state.hash.digest("hex") !== state.objectId)
          throw new Error(`git cat-file's output does not frame at ${state.objectId}`);
        offset += 1;
        this.state = { phase: "header" };
      } else {
        const take = Math.min(state.left, chunk.length - offset);
        state.hash.update(chunk.subarray(offset, offset + take));
        this.body(state, chunk.subarray(offset, offset + take));
        offset += take;
        state.left -= take;
        if (state.left === 0) {
          if (state.mode === "sniff") this.sniffDone(state, true);
          this.state = { phase: "newline", objectId: state.objectId, hash: state.hash };
        }
      }
    }
  }

  private startObject(header: string): void {
    const [objectId = "", type, sizeText] = header.split(" ");
    const size = Number(sizeText);
    if (!/^[0-9a-f]{40} (blob|tree|commit|tag) \d+$/.test(header) || !Number.isSafeInteger(size))
      throw new Error(`unexpected git cat-file output: ${header.slice(0, 100)}`);
    const hash = createHash("sha1").update(`${type} ${size}\0`);
    // Trees are read too: a file or folder can be named after a token.
    const mode = type === "blob" && size > SCAN_FULLY_UP_TO_BYTES ? "sniff" : "scan";
    const searches = searchesFor(this.note(objectId));
    this.state =
      size === 0 ? { phase: "newline", objectId, hash } : { phase: "body", objectId, left: size, mode, sniffed: [], searches, hash };
  }

  private body(state: Extract<ObjectState, { phase: "body" }>, bytes: Buffer): void {
    if (state.mode === "skip") return;
    if (state.mode === "scan") return state.searches.forEach((search) => search.feed(bytes));
    state.sniffed.push(Buffer.from(bytes));
    if (state.sniffed.reduce((n, b) => n + b.length, 0) >= BINARY_SNIFF_BYTES) this.sniffDone(state, false);
  }

  private sniffDone(state: Extract<ObjectState, { phase: "body" }>, ended: boolean): void {
    const start = Buffer.concat(state.sniffed);
    state.sniffed = [];
    const binary = start.subarray(0, BINARY_SNIFF_BYTES).includes(0);
    state.mode = binary ? "skip" : "scan";
    if (!binary) state.searches.forEach((search) => search.feed(start));
    if (ended) state.mode = "skip";
  }
}

/**
 * Every token-shaped string in the objects of a push, read from its quarantine folder alone
 * (no alternates: the repository's own objects are not read again) in one `git cat-file` run,
 * started by the git process host: forked from the service, git would cost a few milliseconds
 * more per push for every 100 MB the service holds.
 */
export async function scanQuarantine(host: GitProcessHost, repositoryPath: string, quarantine: string): Promise<Candidate[]> {
  const scanner = new BatchScanner();
  // A small push is read here, without starting git (quarantineReader.ts); anything else by git.
  const objects = readQuarantinedObjects(quarantine);
  if (objects) {
    for (const object of objects) scanner.object(object.id, object.type, object.content);
    return candidatesOf(scanner);
  }
  const run = await host.run({ service: "quarantined-objects", directory: repositoryPath, quarantine, env: { PATH: process.env.PATH } });
  const { stream } = run;
  let failure: Error | undefined;
  await new Promise<void>((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      if (failure) return;
      try {
        scanner.feed(chunk);
      } catch (error) {
        failure = error as Error;
        run.kill();
        stream.destroy();
      }
    });
    stream.on("error", (error) => (failure ??= error));
    stream.once("close", () => resolve());
    stream.end(); // cat-file reads nothing
    stream.resume();
  });
  const { code, stderr } = await run.exited;
  if (failure) throw failure;
  // A listing cut short (git failed, the host died) would leave objects unread: fail closed.
  if (code !== 0) throw new Error(`git cat-file failed (${code ?? "killed"}): ${stderr.trim().slice(0, 500)}`);
  if (!scanner.complete) throw new Error("git cat-file's output ended inside an object");
  return candidatesOf(scanner);
}

const candidatesOf = (scanner: BatchScanner): Candidate[] =>
  [...scanner.candidates].map(([secret, objectIds]) => ({ secret, objectIds: [...objectIds] }));

/** The ids among these that the repository already had before the push (bases git sent along with a thin pack). */
export function objectsAlreadyStored(repositoryPath: string, objectIds: string[]): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const git = spawn("git", ["cat-file", "--batch-check=%(objectname)"], {
      env: { PATH: process.env.PATH, GIT_DIR: repositoryPath },
      stdio: ["pipe", "pipe", "ignore"],
    });
    let out = "";
    git.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("latin1")));
    git.on("error", reject);
    git.on("close", () => resolve(new Set(out.split("\n").filter((line) => line.length > 0 && !line.endsWith(" missing")))));
    git.stdin.end(objectIds.map((id) => `${id}\n`).join(""));
  });
}
