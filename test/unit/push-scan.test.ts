import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { checksum, generatePersonalAccessToken } from "@clarive/shared";
import { gitEnvironmentFor } from "../../server/src/git/pushProtection/locate";
import pino from "pino";
import { GitProcessHost } from "../../server/src/git/processHost";
import {
  BatchScanner,
  MAX_CANDIDATES,
  SCAN_FULLY_UP_TO_BYTES,
  scanQuarantine,
  TooManyCandidatesError,
} from "../../server/src/git/pushProtection/scan";

/** The real ids of the objects batch() wrote, by the names the tests give them. */
const named = new Map<string, string>();

/**
 * `git cat-file --batch` output for these objects, under their real ids (the scanner checks each
 * object against its id); `id` is the name the test gives the object, which scan() reports back.
 */
function batch(objects: { id: string; type: string; content: Buffer }[]): Buffer {
  return Buffer.concat(
    objects.flatMap((o) => {
      const real = createHash("sha1").update(`${o.type} ${o.content.length}\0`).update(o.content).digest("hex");
      named.set(real, o.id);
      return [Buffer.from(`${real} ${o.type} ${o.content.length}\n`), o.content, Buffer.from("\n")];
    }),
  );
}

/** Feeds the stream in pieces of `size` bytes, as a pipe may deliver it; objects by the tests' names. */
function scan(stream: Buffer, size: number): Map<string, Set<string>> {
  const scanner = new BatchScanner();
  for (let at = 0; at < stream.length; at += size) scanner.feed(stream.subarray(at, at + size));
  return new Map([...scanner.candidates].map(([secret, ids]) => [secret, new Set([...ids].map((real) => named.get(real) ?? real))]));
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

  it("finds a token used as a file or folder name (in a tree); one cut short or with a bad checksum is no candidate", () => {
    const found = scan(
      batch([
        { id: id(1), type: "tree", content: Buffer.from(`100644 ${token}\0${"x".repeat(20)}40000 d\0${"y".repeat(20)}`) },
        { id: id(2), type: "blob", content: Buffer.from(token.slice(0, 40)) },
        { id: id(3), type: "blob", content: Buffer.from(`${token.slice(0, -1)}${token.endsWith("x") ? "y" : "x"}`) },
      ]),
      5,
    );
    assert.deepEqual([...found.keys()], [token]);
    assert.deepEqual([...(found.get(token) ?? [])], [id(1)]);
  });

  it("finds a token in a UTF-16 file (either byte order), whatever the pieces", () => {
    const le = Buffer.from(`\ufeffTOKEN=${token}\r\n`, "utf16le");
    const be = Buffer.from(`\ufeffTOKEN=${other}\r\n`, "utf16le").swap16();
    const stream = batch([
      { id: id(1), type: "blob", content: le },
      { id: id(2), type: "blob", content: be },
    ]);
    for (const size of [1, 3, 85, 86, 87, stream.length]) {
      const found = scan(stream, size);
      assert.deepEqual([...(found.get(token) ?? [])], [id(1)], `pieces of ${size}`);
      assert.deepEqual([...(found.get(other) ?? [])], [id(2)], `pieces of ${size}`);
      assert.equal(found.size, 2);
    }
  });

  it("look-alikes with a bad checksum never fill the candidates: a live token after thousands of them is found", () => {
    const lookAlikes = Array.from({ length: MAX_CANDIDATES * 2 }, (_, i) => `clapat_${i.toString().padStart(36, "0")}`);
    const found = scan(batch([{ id: id(1), type: "blob", content: Buffer.from(`${lookAlikes.join("\n")}\n${token}\n`) }]), 65536);
    assert.deepEqual([...found.keys()], [token]);
  });

  it("more well-formed strings than it checks is an error (the push is refused), not a partial check", () => {
    const wellFormed = Array.from({ length: MAX_CANDIDATES + 1 }, (_, i) => {
      const random = i.toString().padStart(30, "a");
      return `clapat_${random}${checksum(random)}`;
    });
    const stream = batch([{ id: id(1), type: "blob", content: Buffer.from(wellFormed.join("\n")) }]);
    assert.throws(() => scan(stream, 65536), TooManyCandidatesError);
    assert.equal(
      scan(batch([{ id: id(1), type: "blob", content: Buffer.from(wellFormed.slice(1).join("\n")) }]), 65536).size,
      MAX_CANDIDATES,
    );
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

describe("push protection: which quarantine folder the hook may name", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-quarantine-"));
  const real = path.join(root, "real", "acme", "widgets.git");
  fs.mkdirSync(path.join(real, "objects", "tmp_objdir-incoming-abc123"), { recursive: true });
  fs.symlinkSync(path.join(root, "real"), path.join(root, "link"));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("accepts git's quarantine of the repository when REPOS_DIR is a symlink (git names it by its real path)", () => {
    const env = gitEnvironmentFor({
      repositoryPath: path.join(root, "link", "acme", "widgets.git"),
      quarantine: path.join(real, "objects", "tmp_objdir-incoming-abc123"),
      tips: [],
    });
    assert.equal(env?.GIT_OBJECT_DIRECTORY, path.join(real, "objects", "tmp_objdir-incoming-abc123"));
  });

  it("refuses any other folder: another repository's, one outside objects/, one not named as git's quarantine", () => {
    fs.mkdirSync(path.join(root, "real", "acme", "other.git", "objects", "tmp_objdir-incoming-x"), { recursive: true });
    for (const quarantine of [
      path.join(root, "real", "acme", "other.git", "objects", "tmp_objdir-incoming-x"),
      path.join(real, "tmp_objdir-incoming-abc123"),
      path.join(real, "objects", "pack"),
      path.join(real, "objects", "tmp_objdir-incoming-abc123", "..", "..", "..", "other.git", "objects", "tmp_objdir-incoming-x"),
    ]) {
      assert.equal(gitEnvironmentFor({ repositoryPath: real, quarantine, tips: [] }), null, quarantine);
    }
  });
});

describe("push protection's scan of a quarantine folder, through the git process host", function () {
  this.timeout(30_000);
  const logger = pino({ level: "silent" });
  let host: GitProcessHost;
  let repository: string;
  before(async () => {
    host = new GitProcessHost(logger);
    await host.ensureStarted();
    repository = fs.mkdtempSync(path.join(os.tmpdir(), "scan-host-"));
    execFileSync("git", ["init", "-q", "--bare", repository]);
  });
  after(async () => {
    await host.stop();
    fs.rmSync(repository, { recursive: true, force: true });
  });

  /** Writes a blob into `objects` (the repository's store or a quarantine folder) as git would. */
  const writeBlob = (objects: string, content: string) =>
    execFileSync("git", ["hash-object", "-w", "--stdin"], {
      input: content,
      env: { PATH: process.env.PATH, GIT_DIR: repository, GIT_OBJECT_DIRECTORY: objects },
      encoding: "utf8",
    }).trim();

  it("reads the quarantine's objects only, not the repository's", async () => {
    const inHistory = generatePersonalAccessToken();
    const pushed = generatePersonalAccessToken();
    writeBlob(path.join(repository, "objects"), `old = ${inHistory}\n`);
    const quarantine = fs.mkdtempSync(path.join(repository, "objects", "tmp_objdir-incoming-"));
    const blob = writeBlob(quarantine, `new = ${pushed}\n`);
    const found = await scanQuarantine(host, repository, quarantine);
    assert.deepEqual(found, [{ secret: pushed, objectIds: [blob] }]);
  });

  it("fails (so the push is refused) when git cannot list the objects, and the host runs no other program", async () => {
    await assert.rejects(scanQuarantine(host, path.join(repository, "not-there"), path.join(repository, "objects")), /git cat-file failed/);
    await assert.rejects(
      scanQuarantine(host, "relative/repo", "relative/quarantine"),
      /git did not start: Error: not a git command this host runs/,
    );
  });
});
