import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generatePersonalAccessToken } from "@clarive/shared";
import { readQuarantinedObjects, type StoredObject } from "../../server/src/git/pushProtection/quarantineReader";

const git = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}) =>
  execFileSync("git", args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    input: options.input,
    maxBuffer: 256 * 1024 * 1024,
  });

/** What `git cat-file --batch --batch-all-objects` lists for the quarantine folder alone: the reference. */
function listedByGit(repository: string, quarantine: string): StoredObject[] {
  const out = git(["cat-file", "--batch", "--batch-all-objects"], { env: { GIT_DIR: repository, GIT_OBJECT_DIRECTORY: quarantine } });
  const objects: StoredObject[] = [];
  for (let at = 0; at < out.length;) {
    const end = out.indexOf(10, at);
    const [id = "", type, size] = out.toString("latin1", at, end).split(" ");
    const content = out.subarray(end + 1, end + 1 + Number(size));
    objects.push({ id, type: type as StoredObject["type"], content: Buffer.from(content) });
    at = end + 1 + Number(size) + 1;
  }
  return objects;
}

const byId = (objects: StoredObject[]) => [...objects].sort((a, b) => a.id.localeCompare(b.id));

describe("push protection's reader of a quarantine folder (objects without starting git)", function () {
  this.timeout(60_000);
  let root: string;
  let work: string;
  let repository: string;
  const tokens = Array.from({ length: 12 }, generatePersonalAccessToken);

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "quarantine-reader-"));
    repository = path.join(root, "repo.git");
    work = path.join(root, "wc");
    git(["init", "-q", "--bare", repository]);
    git(["init", "-q", work]);
    // A file that changes a little per commit, so that packs hold delta chains; a token comes
    // into it at each step, so some of them are only in a delta's inserted bytes.
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i}: ${"lorem ipsum dolor sit amet ".repeat(3)}`);
    for (const [i, token] of tokens.entries()) {
      lines.splice(i * 30, 0, `secret ${i} = ${token}`);
      fs.writeFileSync(path.join(work, "config.txt"), lines.join("\n"));
      fs.writeFileSync(path.join(work, `empty-${i % 2}`), "");
      git(["add", "."], { cwd: work });
      git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", `step ${i}`], { cwd: work });
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const quarantine = () => fs.mkdtempSync(path.join(repository, "objects", "tmp_objdir-incoming-"));
  /** A pack of the working copy's objects in `folder`, as index-pack leaves it (with a .keep). */
  const packInto = (folder: string, packArgs: string[]) => {
    fs.mkdirSync(path.join(folder, "pack"), { recursive: true });
    const objects = git(["rev-list", "--objects", "--all"], { cwd: work });
    const name = git(["pack-objects", "-q", ...packArgs, path.join(folder, "pack", "pack")], { cwd: work, input: objects })
      .toString()
      .trim();
    fs.writeFileSync(path.join(folder, "pack", `pack-${name}.keep`), "receive-pack 1 on host\n");
    return path.join(folder, "pack", `pack-${name}`);
  };
  const deltas = (packBase: string) =>
    git(["verify-pack", "-v", `${packBase}.idx`])
      .toString()
      .split("\n")
      .filter((line) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(line)).length;

  for (const [name, packArgs] of [
    ["offset deltas (what git sends)", ["--delta-base-offset", "--window=50", "--depth=50"]],
    ["deltas naming their base by id", ["--window=50", "--depth=50"]],
    ["no deltas", ["--window=0"]],
  ] as const) {
    it(`reads a pack with ${name} exactly as git does`, () => {
      const folder = quarantine();
      const pack = packInto(folder, [...packArgs]);
      if (name !== "no deltas") assert.ok(deltas(pack) > 5, "the pack holds deltas");
      const read = readQuarantinedObjects(folder);
      assert.ok(read, "read without git");
      assert.deepEqual(byId(read), byId(listedByGit(repository, folder)));
      const text = read.map((o) => o.content.toString("latin1")).join("\n");
      for (const token of tokens) assert.ok(text.includes(token));
    });
  }

  it("reads loose objects (a push of fewer than 100) exactly as git does", () => {
    const folder = quarantine();
    for (const content of ["one", "", tokens[0] as string]) {
      git(["hash-object", "-w", "--stdin"], { env: { GIT_DIR: repository, GIT_OBJECT_DIRECTORY: folder }, input: content });
    }
    const read = readQuarantinedObjects(folder);
    assert.ok(read);
    assert.equal(read.length, 3);
    assert.deepEqual(byId(read), byId(listedByGit(repository, folder)));
  });

  it("leaves to git what it cannot account for: an unexpected file, a cut pack, a corrupt loose object", () => {
    const stray = quarantine();
    packInto(stray, []);
    fs.writeFileSync(path.join(stray, "pack", "tmp_pack_abc"), "half");
    assert.equal(readQuarantinedObjects(stray), undefined);

    const cut = quarantine();
    const pack = packInto(cut, ["--delta-base-offset"]);
    const bytes = fs.readFileSync(`${pack}.pack`);
    fs.writeFileSync(`${pack}.pack`, bytes.subarray(0, bytes.length - 200));
    assert.equal(readQuarantinedObjects(cut), undefined);

    const corrupt = quarantine();
    const id = git(["hash-object", "-w", "--stdin"], { env: { GIT_DIR: repository, GIT_OBJECT_DIRECTORY: corrupt }, input: "x" })
      .toString()
      .trim();
    const file = path.join(corrupt, id.slice(0, 2), id.slice(2));
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, "not zlib");
    assert.equal(readQuarantinedObjects(corrupt), undefined);

    assert.equal(readQuarantinedObjects(path.join(repository, "objects", "tmp_objdir-incoming-gone")), undefined);
  });
});
