import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { generatePersonalAccessToken, PAT_PREFIX } from "@clarive/shared";
import { isProvenClean, pushCommandsEnd } from "../../server/src/git/pushProtection/requestPack";

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
});
