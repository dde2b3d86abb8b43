import assert from "node:assert/strict";
import { generatePersonalAccessToken } from "@clarive/shared";
import { BatchScanner, SCAN_FULLY_UP_TO_BYTES } from "../../server/src/git/pushProtection/scan";

/** `git cat-file --batch` output for these objects. */
function batch(objects: { id: string; type: string; content: Buffer }[]): Buffer {
  return Buffer.concat(objects.flatMap((o) => [Buffer.from(`${o.id} ${o.type} ${o.content.length}\n`), o.content, Buffer.from("\n")]));
}

/** Feeds the stream in pieces of `size` bytes, as a pipe may deliver it. */
function scan(stream: Buffer, size: number): Map<string, Set<string>> {
  const scanner = new BatchScanner();
  for (let at = 0; at < stream.length; at += size) scanner.feed(stream.subarray(at, at + size));
  return scanner.candidates;
}

const id = (n: number) => n.toString(16).padStart(40, "0");

describe("push protection's object scanner (git cat-file --batch output)", () => {
  const token = generatePersonalAccessToken();
  const other = generatePersonalAccessToken();

  it("finds tokens in blobs, commit and tag messages, whatever the pieces the stream arrives in", () => {
    const stream = batch([
      { id: id(1), type: "commit", content: Buffer.from(`tree x\n\ndeploy with ${token}\n`) },
      { id: id(2), type: "blob", content: Buffer.from(`a=${other};b=${token}`) },
      { id: id(3), type: "tag", content: Buffer.from(`object y\n\nrelease ${other}`) },
      { id: id(4), type: "blob", content: Buffer.from("") },
    ]);
    for (const size of [1, 2, 7, 42, 43, 44, 100, stream.length]) {
      const found = scan(stream, size);
      assert.deepEqual([...(found.get(token) ?? [])], [id(1), id(2)], `pieces of ${size}`);
      assert.deepEqual([...(found.get(other) ?? [])], [id(2), id(3)], `pieces of ${size}`);
      assert.equal(found.size, 2);
    }
  });

  it("skips trees, and a token cut short or glued to more characters is a candidate only as its 43 characters", () => {
    const found = scan(
      batch([
        { id: id(1), type: "tree", content: Buffer.from(`100644 ${token}\0${"x".repeat(20)}`) },
        { id: id(2), type: "blob", content: Buffer.from(token.slice(0, 40)) },
      ]),
      5,
    );
    assert.equal(found.size, 0);
  });

  it("reads a large text blob to its end, skips a large binary one (a NUL in its first 8000 bytes)", () => {
    const big = SCAN_FULLY_UP_TO_BYTES + 1000;
    const text = Buffer.alloc(big, "a");
    text.write(token, big - 100, "latin1");
    const binary = Buffer.alloc(big, "a");
    binary[10] = 0;
    binary.write(other, big - 100, "latin1");
    const found = scan(
      batch([
        { id: id(1), type: "blob", content: text },
        { id: id(2), type: "blob", content: binary },
      ]),
      65536,
    );
    assert.deepEqual([...found.keys()], [token]);
  });
});
