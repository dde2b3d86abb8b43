import zlib from "node:zlib";
import { inflateOptions, NotReadable } from "./quarantineReader";

/** One zlib stream read from a buffer where more may follow it (a pack's next entry). */
export interface Inflated {
  /** What it inflated to: exactly `size` bytes, or NotReadable was thrown. */
  data: Buffer;
  /** How many bytes of the input the stream took, to its end (its Adler-32 checked by zlib). */
  used: number;
}

/**
 * The zlib engine Node's public API gives (zlib.inflateSync) is built and torn down per call: a
 * native handle, a 32 KiB window and a stream object each time, which is most of push
 * protection's check for a push of many small objects (~20 µs an object in the service). One
 * engine reset between streams (zlib's own inflateReset) does the same work in a fifth of the
 * time. Node does not document writing to its engine synchronously, so the reuse is taken only
 * if this Node's engine has the shape it needs and passes a self-test at load; otherwise every
 * stream goes through inflateSync, as before.
 */
interface EngineInternals {
  _handle?: { writeSync?: unknown } | null;
  _writeState?: unknown;
}
type ReusableEngine = zlib.Inflate & {
  _handle: { writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void };
  _writeState: Uint32Array;
};

let engine: ReusableEngine | undefined;

function newEngine(): ReusableEngine | undefined {
  const created = new zlib.Inflate() as zlib.Inflate & EngineInternals;
  // An error destroys the engine and is emitted a tick later: heard here, never unhandled.
  created.on("error", () => undefined);
  if (typeof created._handle?.writeSync !== "function" || !(created._writeState instanceof Uint32Array)) {
    created.close();
    return undefined;
  }
  return created as ReusableEngine;
}

function inflateReusing(input: Buffer, at: number, end: number, size: number): Inflated {
  const current = engine && !engine.destroyed ? engine : (engine = newEngine());
  if (!current) throw new NotReadable();
  current.reset();
  const out = Buffer.allocUnsafe(size + 1);
  const length = end - at;
  current._handle.writeSync(zlib.constants.Z_FINISH, input, at, length, out, 0, size + 1);
  // zlib's complaint (bad data, a wrong checksum, input ending before the stream) destroys it.
  if (current.destroyed) {
    engine = undefined;
    throw new NotReadable();
  }
  const [outLeft, inLeft] = current._writeState as unknown as [number, number];
  const made = size + 1 - outLeft;
  if (made !== size) throw new NotReadable(); // a pack that lies about an object's size
  return { data: out.subarray(0, size), used: length - inLeft };
}

function inflatePublic(input: Buffer, at: number, end: number, size: number): Inflated {
  let inflated: { buffer: Buffer; engine: zlib.Inflate };
  try {
    inflated = zlib.inflateSync(input.subarray(at, end), { ...inflateOptions(size), info: true }) as unknown as {
      buffer: Buffer;
      engine: zlib.Inflate;
    };
  } catch {
    throw new NotReadable(); // zlib's complaint, or more than the size
  }
  if (inflated.buffer.length !== size) throw new NotReadable();
  return { data: inflated.buffer, used: inflated.engine.bytesWritten };
}

/** Whether the reusing way gives what inflateSync gives on this Node, refusals included. */
function reuseWorks(): boolean {
  try {
    const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251));
    const stream = zlib.deflateSync(content);
    const input = Buffer.concat([Buffer.from("xy"), stream, Buffer.from("PACK and more")]);
    const refuses = (run: () => unknown) => {
      try {
        run();
        return false;
      } catch (error) {
        return error instanceof NotReadable;
      }
    };
    const corrupt = Buffer.from(input);
    corrupt[2 + stream.length - 2] = (corrupt[2 + stream.length - 2] as number) ^ 0xff; // its checksum
    for (let round = 0; round < 2; round++) {
      const read = inflateReusing(input, 2, input.length, content.length);
      if (!read.data.equals(content) || read.used !== stream.length) return false;
      if (!refuses(() => inflateReusing(corrupt, 2, corrupt.length, content.length))) return false;
      if (!refuses(() => inflateReusing(input, 2, 2 + stream.length - 5, content.length))) return false; // cut short
      if (!refuses(() => inflateReusing(input, 2, input.length, content.length - 1))) return false; // larger than said
    }
    return true;
  } catch {
    return false;
  }
}

/** Whether this process inflates with one reused engine (else through inflateSync). */
export const REUSES_ENGINE = reuseWorks();

/**
 * Inflates the zlib stream at `at` (reading no further than `end`) that must make exactly `size`
 * bytes; NotReadable for anything else: bad data, a wrong checksum, a stream not ended by `end`,
 * another size.
 */
export function inflateStream(input: Buffer, at: number, end: number, size: number): Inflated {
  if (at < 0 || at >= end || end > input.length) throw new NotReadable();
  return REUSES_ENGINE ? inflateReusing(input, at, end, size) : inflatePublic(input, at, end, size);
}

/** The public way, for tests that compare the two. */
export const inflateStreamPublic = inflatePublic;
