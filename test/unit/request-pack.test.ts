import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import fc from "fast-check";
import { generatePersonalAccessToken, PAT_PREFIX } from "@clarive/shared";
import { isProvenClean, type PackReading, pushCommandsEnd } from "../../server/src/git/pushProtection/requestPack";

const git = (args: string[], options: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}) =>
  execFileSync("git", args, {
    cwd: options.cwd,
    input: options.input,
    env: { ...process.env, ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
const pkt = (payload: string) => `${(payload.length + 4).toString(16).padStart(4, "0")}${payload}`;
const ZERO = "0".repeat(40);

/** A push request as git send-pack writes it in stateless RPC: commands, a flush, the pack. */
function pushBody(
  commands: [string, string, string][],
  pack: Buffer,
  capabilities = "report-status side-band-64k agent=git/2.39.5",
): Buffer {
  const lines = commands.map(([from, to, ref], i) => pkt(`${from} ${to} ${ref}${i === 0 ? `\0${capabilities}` : ""}`));
  return Buffer.concat([Buffer.from(`${lines.join("")}0000`, "latin1"), pack]);
}

/** Hand-encoded packs: entries as git writes them (header varint, zlib), deltas that insert bytes. */
const varint = (n: number) => {
  const bytes: number[] = [];
  do {
    bytes.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.from(bytes);
};
const entryHeader = (type: number, size: number) => {
  const bytes = [(type << 4) | (size & 15) | (size > 15 ? 0x80 : 0)];
  for (let rest = Math.floor(size / 16); rest > 0; rest = Math.floor(rest / 128)) bytes.push((rest & 0x7f) | (rest > 0x7f ? 0x80 : 0));
  return Buffer.from(bytes);
};
const blobEntry = (content: Buffer) => Buffer.concat([entryHeader(3, content.length), zlib.deflateSync(content)]);
/** A delta by id whose result is `result`, inserted whole (a base of `baseSize` bytes is named, not copied). */
const insertingDelta = (baseId: string, baseSize: number, result: Buffer) => {
  const delta = Buffer.concat([varint(baseSize), varint(result.length), Buffer.from([result.length]), result]);
  return Buffer.concat([entryHeader(7, delta.length), Buffer.from(baseId, "hex"), zlib.deflateSync(delta)]);
};
const blobId = (content: Buffer) => crypto.createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
function packOf(entries: Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.write("PACK", 0, "latin1");
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(entries.length, 8);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, crypto.createHash("sha1").update(body).digest()]);
}

describe("push protection's check of a push request body before git starts", function () {
  this.timeout(60_000);
  let root: string;
  let server: string;
  let work: string;
  let base: string;
  const commit = (files: Record<string, string>, message: string) => {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(work, name), content);
    git(["add", "."], { cwd: work });
    git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], { cwd: work });
    return git(["rev-parse", "HEAD"], { cwd: work }).toString().trim();
  };
  /** What git push would send for base..tip (send-pack runs pack-objects like this). */
  const packFor = (tip: string, from: string, extra: string[] = ["--thin", "--delta-base-offset"]) =>
    git(["pack-objects", "--revs", "--stdout", "-q", ...extra], { cwd: work, input: `${tip}\n^${from}\n` });
  const reset = () => git(["reset", "-q", "--hard", base], { cwd: work });
  const big = Array.from({ length: 3000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join("\n");

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "request-pack-"));
    server = path.join(root, "server.git");
    work = path.join(root, "wc");
    git(["init", "-q", "--bare", server]);
    git(["init", "-q", work]);
    base = commit({ "big.txt": big, README: "hello\n" }, "base");
    git(["push", "-q", server, "HEAD:refs/heads/main"], { cwd: work });
    git(["repack", "-adq"], { cwd: server }); // the bases of a thin pack in the server's pack
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  afterEach(reset);

  const fiftyCommits = () => {
    let tip = commit({ "big.txt": `changed\n${big}` }, "edit big"); // a delta against the server's copy
    for (let i = 0; i < 49; i++) tip = commit({ "log.txt": `commit ${i}\n` }, `commit ${i}`);
    return tip;
  };

  it("proves a push of 50 commits clean, as a thin pack, a full pack and with deltas by id", () => {
    const tip = fiftyCommits();
    for (const extra of [["--thin", "--delta-base-offset"], ["--delta-base-offset"], ["--thin"], []]) {
      const body = pushBody([[base, tip, "refs/heads/main"]], packFor(tip, base, extra));
      assert.equal(isProvenClean(body, server), true, `pack-objects ${extra.join(" ")}`);
    }
  });

  it("does not prove a push that adds a live-looking token, wherever it is: a new file, a delta on a stored file, a tree entry, a commit message", () => {
    const token = generatePersonalAccessToken();
    const cases: (() => string)[] = [
      () => commit({ "secret.env": `TOKEN=${token}\n` }, "add secret"),
      () => commit({ "big.txt": big.replace("line 1500:", `line 1500: ${token}`) }, "secret in a delta"),
      () => commit({ [`${token}.txt`]: "x\n" }, "a file named after it"),
      () => commit({ "note.txt": "y\n" }, `deploy with ${token}`),
      () => commit({ "utf16.txt": Buffer.from(`k=${token}`, "utf16le").toString("latin1") }, "utf-16"),
    ];
    for (const make of cases) {
      reset();
      const tip = make();
      assert.equal(isProvenClean(pushBody([[base, tip, "refs/heads/main"]], packFor(tip, base)), server), false, make.toString());
    }
  });

  it("proves clean what the hook would let through anyway: a look-alike with a bad checksum, deletions", () => {
    const token = generatePersonalAccessToken();
    const bad = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    const tip = commit({ "example.txt": `TOKEN=${bad}\nprefix only: ${PAT_PREFIX}\n` }, "look-alike");
    assert.equal(isProvenClean(pushBody([[base, tip, "refs/heads/main"]], packFor(tip, base)), server), true);
    assert.equal(isProvenClean(pushBody([[base, ZERO, "refs/heads/old"]], Buffer.alloc(0)), server), true);
  });

  it("leaves to the hook what it does not read: a token in a ref name, push options, a shallow client, a push certificate, unknown capabilities", () => {
    const tip = commit({ "a.txt": "a\n" }, "a");
    const pack = packFor(tip, base);
    const token = generatePersonalAccessToken();
    const unread = [
      pushBody([[base, tip, `refs/heads/${token}`]], pack),
      pushBody([[base, tip, "refs/heads/main"]], pack, "report-status push-options"),
      pushBody([[base, tip, "refs/heads/main"]], pack, "report-status future-capability"),
      Buffer.concat([Buffer.from(`${pkt(`shallow ${base}`)}`), pushBody([[base, tip, "refs/heads/main"]], pack)]),
      Buffer.concat([Buffer.from(`${pkt("push-cert\0report-status")}${pkt("certificate version 0.1\n")}0000`), pack]),
      Buffer.from("0000"),
      Buffer.from("garbage"),
    ];
    for (const body of unread) {
      assert.equal(pushCommandsEnd(body), undefined, body.toString("latin1", 0, 120));
      assert.equal(isProvenClean(body, server), false);
    }
    assert.equal(
      pushCommandsEnd(pushBody([[base, tip, "refs/heads/main"]], pack)),
      pushBody([[base, tip, "refs/heads/main"]], Buffer.alloc(0)).length,
    );
  });

  it("does not prove a pack it cannot account for byte for byte", () => {
    const tip = fiftyCommits();
    const pack = packFor(tip, base);
    const body = (p: Buffer) => pushBody([[base, tip, "refs/heads/main"]], p);
    const flipped = Buffer.from(pack);
    flipped[pack.length - 1] = (flipped[pack.length - 1] as number) ^ 1;
    const moreObjects = Buffer.from(pack);
    moreObjects.writeUInt32BE(pack.readUInt32BE(8) + 1, 8);
    const fewerObjects = Buffer.from(pack);
    fewerObjects.writeUInt32BE(pack.readUInt32BE(8) - 1, 8);
    for (const [name, tampered] of [
      ["cut short", pack.subarray(0, pack.length - 1)],
      ["a byte after its checksum", Buffer.concat([pack, Buffer.from("x")])],
      ["a wrong checksum", flipped],
      ["a count larger than its objects", moreObjects],
      ["a count smaller than its objects", fewerObjects],
      ["no pack for a new ref", Buffer.alloc(0)],
    ] as const) {
      assert.equal(isProvenClean(body(tampered), server), false, name);
    }
  });

  it("does not prove a thin pack whose bases it cannot read with certainty: missing, or in alternates", () => {
    const tip = fiftyCommits();
    const pack = packFor(tip, base);
    const empty = path.join(root, "empty.git");
    git(["init", "-q", "--bare", empty]);
    assert.equal(isProvenClean(pushBody([[ZERO, tip, "refs/heads/main"]], pack), empty), false);
    const borrowing = path.join(root, "borrowing.git");
    git(["clone", "-q", "--bare", "--shared", server, borrowing]);
    assert.equal(isProvenClean(pushBody([[base, tip, "refs/heads/main"]], pack), borrowing), false);
    // The same push without borrowed bases is read in full.
    assert.equal(isProvenClean(pushBody([[base, tip, "refs/heads/main"]], packFor(tip, base, ["--delta-base-offset"])), borrowing), true);
  });

  it("resolves thousands of deltas on stored bases, and chains of deltas by id in any order, in one pass", () => {
    const stored = Buffer.from(big);
    const storedId = blobId(stored);
    const body = (entries: Buffer[]) => pushBody([[ZERO, "1".repeat(40), "refs/heads/many"]], packOf(entries));
    // 9,000 entries: each a delta inserting its own bytes on the repository's copy of big.txt.
    const onStored = Array.from({ length: 9000 }, (_, i) => insertingDelta(storedId, stored.length, Buffer.from(`d${i}`)));
    assert.equal(isProvenClean(body(onStored), server), true);
    // A chain named by id, listed from its last delta to its first, the first on a stored base.
    const contents = Array.from({ length: 3000 }, (_, i) => Buffer.from(`c${i}`));
    const chain = contents.map((content, i) =>
      i === contents.length - 1
        ? insertingDelta(storedId, stored.length, content)
        : insertingDelta(blobId(contents[i + 1] as Buffer), (contents[i + 1] as Buffer).length, content),
    );
    assert.equal(isProvenClean(body(chain), server), true);
    const token = generatePersonalAccessToken();
    assert.equal(isProvenClean(body([...chain, insertingDelta(storedId, stored.length, Buffer.from(token))]), server), false);
    // More entries than one check reads: the hook's.
    const tooMany = Array.from({ length: 10_001 }, (_, i) => blobEntry(Buffer.from(`b${i}`)));
    assert.equal(isProvenClean(body(tooMany), server), false);
  });

  it("does not prove a delta on a stored base larger than its budget, and leaves no file open when a pack goes away", () => {
    const huge = crypto.randomBytes(12 * 1024 * 1024);
    const hugeId = git(["hash-object", "-w", "--stdin"], { env: { GIT_DIR: server }, input: huge })
      .toString()
      .trim();
    const onHuge = pushBody([[ZERO, "1".repeat(40), "refs/heads/huge"]], packOf([insertingDelta(hugeId, huge.length, Buffer.from("x"))]));
    assert.equal(isProvenClean(onHuge, server), false);
    // A pack listed, then removed before it is opened (a repack at that moment): its index stays closed.
    const copy = path.join(root, "racing.git");
    git(["clone", "-q", "--bare", server, copy]);
    const [index] = fs.readdirSync(path.join(copy, "objects", "pack")).filter((name) => name.endsWith(".idx"));
    fs.rmSync(path.join(copy, "objects", "pack", (index as string).replace(/\.idx$/, ".pack")));
    fs.symlinkSync("/nonexistent", path.join(copy, "objects", "pack", (index as string).replace(/\.idx$/, ".pack")));
    const tip = fiftyCommits();
    const thin = pushBody([[base, tip, "refs/heads/main"]], packFor(tip, base));
    const open = () => fs.readdirSync("/proc/self/fd").length;
    const before = open();
    for (let i = 0; i < 50; i++) assert.equal(isProvenClean(thin, copy), false);
    assert.equal(open(), before);
  });

  it("a pack it proves clean is one git accepts, with no token in what git stores (random damage to a pack that carries one)", () => {
    const token = generatePersonalAccessToken();
    const tip = commit({ "big.txt": big.replace("line 2000:", `line 2000: ${token}`), "b.txt": "b\n" }, "token in a delta");
    const pack = packFor(tip, base);
    const original = pushBody([[base, tip, "refs/heads/main"]], pack);
    assert.equal(isProvenClean(original, server), false);
    const packStart = original.length - pack.length;
    fc.assert(
      fc.property(fc.integer({ min: 12, max: pack.length - 21 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const damaged = Buffer.from(original);
        damaged[packStart + at] = (damaged[packStart + at] as number) ^ mask;
        if (!isProvenClean(damaged, server)) return;
        // Proven clean: git must refuse this pack, or store nothing that carries the token.
        const scratch = fs.mkdtempSync(path.join(root, "scratch-"));
        git(["init", "-q", "--bare", scratch]);
        fs.writeFileSync(path.join(scratch, "objects", "info", "alternates"), `${path.join(server, "objects")}\n`);
        const indexed = spawnSync("git", ["index-pack", "--stdin", "--fix-thin"], { cwd: scratch, input: damaged.subarray(packStart) });
        if (indexed.status === 0) {
          const listed = git(["cat-file", "--batch", "--batch-all-objects"], {
            env: { GIT_DIR: scratch, GIT_ALTERNATE_OBJECT_DIRECTORIES: "" },
          });
          assert.equal(listed.includes(token), false, `byte ${at} ^ ${mask}`);
        }
        fs.rmSync(scratch, { recursive: true, force: true });
      }),
      { seed: 20261203, numRuns: 300 },
    );
  });
  it("what it lets git have before its verdict is never a whole pack, whatever follows the pack or however it is damaged", () => {
    // git acts on a push's commands once it has read its pack's trailer (bytes after it do not
    // stop it): the part of the body the check lets git have while it reads must not hold one.
    const token = generatePersonalAccessToken();
    let tip = commit({ "big.txt": big.replace("line 100:", `line 100: ${token}`) }, "token");
    for (let i = 0; i < 60; i++) tip = commit({ [`f${i}.txt`]: `${crypto.randomBytes(512).toString("hex")}\n` }, `file ${i}`);
    const pack = packFor(tip, base);
    const original = pushBody([[base, tip, "refs/heads/main"]], pack);
    const packStart = original.length - pack.length;
    const givenToGit = (body: Buffer): Buffer => {
      const reading: PackReading = { upTo: 0 };
      isProvenClean(body, server, reading);
      assert.ok(reading.upTo <= body.length - 20, "never the body's last 20 bytes");
      return body.subarray(packStart, Math.max(packStart, reading.upTo));
    };
    const gitRefuses = (prefix: Buffer, label: string) => {
      const scratch = fs.mkdtempSync(path.join(root, "prefix-"));
      git(["init", "-q", "--bare", scratch]);
      fs.writeFileSync(path.join(scratch, "objects", "info", "alternates"), `${path.join(server, "objects")}\n`);
      // unpack-objects: what receive-pack runs for a pack of under 100 objects, and the one that ignores what follows a pack.
      for (const args of [
        ["unpack-objects", "-q"],
        ["index-pack", "--stdin", "--fix-thin"],
      ]) {
        const result = spawnSync("git", args, { cwd: scratch, env: { ...process.env, GIT_DIR: scratch }, input: prefix });
        assert.notEqual(result.status, 0, `${args[0]} completed a pack from ${prefix.length} bytes (${label})`);
      }
      fs.rmSync(scratch, { recursive: true, force: true });
    };
    const whole = givenToGit(original);
    assert.equal(whole.length, pack.length - 20, "every entry, read whole, reaches git before the verdict");
    gitRefuses(whole, "as sent");
    for (const [name, tail] of [
      ["junk", Buffer.alloc(20, "J")],
      ["a second pack", pack],
      ["random bytes", crypto.randomBytes(4096)],
    ] as const) {
      const body = Buffer.concat([original, tail]);
      assert.equal(isProvenClean(body, server), false, name);
      gitRefuses(givenToGit(body), name);
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: pack.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const damaged = Buffer.from(original);
        damaged[packStart + at] = (damaged[packStart + at] as number) ^ mask;
        gitRefuses(givenToGit(damaged), `byte ${at} ^ ${mask}`);
      }),
      { seed: 20261204, numRuns: 60 },
    );
    reset();
  });
});

describe("push protection's check of a thin pack whose bases are spread over several packs", function () {
  this.timeout(60_000);
  it("finds each base in whichever pack holds it, whichever it searched first last time, and still sees a token in a delta on it", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "request-pack-packs-"));
    try {
      const server = path.join(root, "server.git");
      const work = path.join(root, "wc");
      git(["init", "-q", "--bare", server]);
      git(["init", "-q", work]);
      const commit = (file: string, content: string) => {
        fs.writeFileSync(path.join(work, file), content);
        git(["add", "."], { cwd: work });
        git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", file], { cwd: work });
        return git(["rev-parse", "HEAD"], { cwd: work }).toString().trim();
      };
      const text = (seed: string) => Array.from({ length: 2000 }, (_, i) => `${seed} line ${i}: pack me with the others`).join("\n");
      // Three packs: each file's stored copy (a thin pack's base) lives in its own.
      let base = "";
      for (const file of ["a.txt", "b.txt", "c.txt"]) {
        base = commit(file, text(file));
        git(["push", "-q", server, "HEAD:refs/heads/main"], { cwd: work });
        git(["repack", "-dq"], { cwd: server });
      }
      assert.equal(fs.readdirSync(path.join(server, "objects", "pack")).filter((f) => f.endsWith(".pack")).length, 3);
      const token = generatePersonalAccessToken();
      const pushOf = (file: string, secret: boolean) => {
        const tip = commit(file, text(file).replace("line 1000:", secret ? `line 1000: ${token}` : "line 1000: edited"));
        const pack = git(["pack-objects", "--revs", "--stdout", "-q", "--thin", "--delta-base-offset"], {
          cwd: work,
          input: `${tip}\n^${base}\n`,
        });
        git(["reset", "-q", "--hard", base], { cwd: work });
        return pushBody([[base, tip, "refs/heads/main"]], pack);
      };
      for (const file of ["a.txt", "c.txt", "b.txt", "a.txt", "b.txt", "c.txt"]) {
        assert.equal(isProvenClean(pushOf(file, false), server), true, `an edit of ${file}`);
        assert.equal(isProvenClean(pushOf(file, true), server), false, `a token added to ${file}`);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
