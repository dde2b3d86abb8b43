import assert from "node:assert/strict";
import zlib from "node:zlib";
import fc from "fast-check";
import { inflateStream, inflateStreamPublic, REUSES_ENGINE } from "../../server/src/git/pushProtection/inflater";
import { NotReadable } from "../../server/src/git/pushProtection/quarantineReader";

/** What zlib itself says of the stream at `at`: its content and how many bytes it took, or that it refuses it. */
function reference(input: Buffer, at: number, end: number): { data: Buffer; used: number } | "refused" {
  try {
    const { buffer, engine } = zlib.inflateSync(input.subarray(at, end), { info: true }) as unknown as {
      buffer: Buffer;
      engine: zlib.Inflate;
    };
    return { data: buffer, used: engine.bytesWritten };
  } catch {
    return "refused";
  }
}

const outcome = (run: () => { data: Buffer; used: number }) => {
  try {
    const { data, used } = run();
    return { data: data.toString("hex"), used };
  } catch (error) {
    assert.ok(error instanceof NotReadable, `not a NotReadable: ${String(error)}`);
    return "refused";
  }
};

// Push protection's check inflates every object of a push's pack with it (requestPack.ts): a
// stream read wrong would be content never searched for a token.
describe("push protection's inflater", () => {
  it("reuses one zlib engine on this Node (its self-test passed); otherwise the check would be slower, not wrong", () => {
    assert.equal(REUSES_ENGINE, true);
  });

  const streams = fc.record({
    content: fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.string({ maxLength: 3000 }).map((text) => new TextEncoder().encode(text)),
    ),
    level: fc.integer({ min: 0, max: 9 }),
    before: fc.uint8Array({ maxLength: 40 }),
    after: fc.uint8Array({ maxLength: 200 }),
  });

  it("reads what zlib reads, to the byte where the stream ends, whatever comes before and after it (5,000 streams)", () => {
    fc.assert(
      fc.property(streams, ({ content, level, before, after }) => {
        const stream = zlib.deflateSync(content, { level });
        const input = Buffer.concat([before, stream, after]);
        const expected = reference(input, before.length, input.length);
        assert.notEqual(expected, "refused");
        for (const inflate of [inflateStream, inflateStreamPublic]) {
          const read = inflate(input, before.length, input.length, content.length);
          assert.ok(read.data.equals(Buffer.from(content)));
          assert.equal(read.used, stream.length);
        }
      }),
      { numRuns: 5000, seed: 1203 },
    );
  });

  it("refuses where zlib refuses or where the size is not the stated one, and reads on after a refusal (5,000 damaged streams)", () => {
    fc.assert(
      fc.property(
        streams,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: -2, max: 2 }),
        fc.boolean(),
        ({ content, level, before, after }, position, mask, sizeOff, cut) => {
          const stream = zlib.deflateSync(content, { level });
          const input = Buffer.concat([before, stream, after]);
          const damaged = Buffer.from(input);
          const at = before.length + (position % stream.length);
          damaged[at] = (damaged[at] as number) ^ mask;
          // Cut: the input ends inside the stream (a pack whose entry is not all there).
          const end = cut ? before.length + (position % stream.length) : damaged.length;
          const size = Math.max(0, content.length + sizeOff);
          const expected = reference(damaged, before.length, end);
          const wanted =
            expected === "refused" || expected.data.length !== size
              ? "refused"
              : { data: expected.data.toString("hex"), used: expected.used };
          const start = before.length;
          if (start >= end) {
            assert.equal(
              outcome(() => inflateStream(damaged, start, end, size)),
              "refused",
            );
            return;
          }
          assert.deepEqual(
            outcome(() => inflateStream(damaged, start, end, size)),
            wanted,
          );
          assert.deepEqual(
            outcome(() => inflateStreamPublic(damaged, start, end, size)),
            wanted,
          );
          // The engine a refusal destroyed is replaced: the next stream reads as ever.
          const next = inflateStream(input, before.length, input.length, content.length);
          assert.ok(next.data.equals(Buffer.from(content)));
        },
      ),
      { numRuns: 5000, seed: 3012 },
    );
  });

  it("never reads past the end it is given, nor before the start", () => {
    const content = Buffer.from("a tree, a commit, a blob ".repeat(40));
    const stream = zlib.deflateSync(content);
    const input = Buffer.concat([stream, Buffer.from("next entry")]);
    assert.throws(() => inflateStream(input, 0, stream.length - 1, content.length), NotReadable);
    assert.throws(() => inflateStream(input, -1, input.length, content.length), NotReadable);
    assert.throws(() => inflateStream(input, 0, input.length + 1, content.length), NotReadable);
    assert.throws(() => inflateStream(input, input.length, input.length, 0), NotReadable);
    assert.equal(inflateStream(input, 0, stream.length, content.length).used, stream.length);
  });
});
