import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { uploadPackProgram } from "../../server/src/git/advertisementCache";
import { isRefListRequest, RefListCache } from "../../server/src/git/refListCache";
import { gitOk, tempDir } from "../support/git";

const pkt = (payload: string) => `${(payload.length + 4).toString(16).padStart(4, "0")}${payload}`;
const lsRefs = (...args: string[]) =>
  Buffer.from(`${pkt("command=ls-refs\n")}${pkt("agent=git/test\n")}0001${args.map((a) => pkt(`${a}\n`)).join("")}0000`);
const ANSWER = Buffer.from(`${pkt("0123456789012345678901234567890123456789 refs/heads/main\n")}0000`);
const PROTOCOL = "version=2";
const PROGRAM = uploadPackProgram();
const WHOLE_SECONDS = Math.floor(Date.now() / 1000) - 60;

/** A bare repository with two commits on main. */
async function repository(): Promise<string> {
  const work = tempDir();
  await gitOk(["init", "-q", work]);
  for (const n of [1, 2]) {
    fs.writeFileSync(path.join(work, "f"), `${n}\n`);
    await gitOk(["add", "f"], { cwd: work });
    await gitOk(["commit", "-qm", `c${n}`], { cwd: work });
  }
  const bare = path.join(tempDir(), "r.git");
  await gitOk(["clone", "-q", "--bare", work, bare]);
  return bare;
}

describe("RefListCache (ls-refs answers kept while the refs are unchanged)", () => {
  let bare: string;
  /** A clock past the window in which a file's time cannot tell two changes apart. */
  const later = () => Date.now() + 3000;

  beforeEach(async () => {
    bare = await repository();
  });

  const keptAfterStore = (cache: RefListCache, body = lsRefs("peel")): boolean => {
    const first = cache.lookup(bare, PROTOCOL, body);
    assert.ok(first && "stamp" in first, "a stamp to keep the answer under");
    cache.store(bare, PROTOCOL, body, first.stamp, ANSWER);
    const second = cache.lookup(bare, PROTOCOL, body);
    return second !== undefined && "bytes" in second && second.bytes.equals(ANSWER);
  };

  it("keeps an answer per request body and protocol, and gives it back while nothing changed", () => {
    const cache = new RefListCache(PROGRAM, later);
    assert.ok(keptAfterStore(cache));
    assert.ok(!("bytes" in (cache.lookup(bare, PROTOCOL, lsRefs("ref-prefix refs/tags/")) ?? {})), "another request's arguments");
    assert.ok(!("bytes" in (cache.lookup(bare, "version=2:object-format=sha256", lsRefs("peel")) ?? {})), "another Git-Protocol");
    assert.deepEqual(cache.lookups, { hits: 1, misses: 3 });
  });

  it("keeps nothing read from refs changed a moment ago (file times are coarse)", async () => {
    await gitOk(["update-ref", "refs/heads/new", "main"], { cwd: bare });
    assert.equal(new RefListCache(PROGRAM).lookup(bare, PROTOCOL, lsRefs()), undefined, "changed just now: git answers, nothing kept");
    assert.ok(new RefListCache(PROGRAM, later).lookup(bare, PROTOCOL, lsRefs()), "the same state, seconds later");
  });

  /** Each: what is done before the answer is kept, then the change after it. */
  const changes: { what: string; prepare?: () => Promise<unknown>; change: () => Promise<unknown> }[] = [
    { what: "a loose ref moved", change: () => gitOk(["update-ref", "refs/heads/main", "main~1"], { cwd: bare }) },
    { what: "a branch in a new folder", change: () => gitOk(["branch", "a/b/c", "main"], { cwd: bare }) },
    { what: "HEAD pointed elsewhere", change: () => gitOk(["symbolic-ref", "HEAD", "refs/heads/other"], { cwd: bare }) },
    {
      what: "packed-refs rewritten in place by another tool (same size, nothing under refs/ touched)",
      prepare: () => gitOk(["pack-refs", "--all"], { cwd: bare }),
      change: async () => {
        const [main, first] = [
          (await gitOk(["rev-parse", "main"], { cwd: bare })).trim(),
          (await gitOk(["rev-parse", "main~1"], { cwd: bare })).trim(),
        ];
        const packed = path.join(bare, "packed-refs");
        fs.writeFileSync(packed, fs.readFileSync(packed, "utf8").replace(main, first));
      },
    },
    {
      what: "the repository's configuration (hidden refs)",
      change: () => gitOk(["config", "uploadpack.hideRefs", "refs/heads/main"], { cwd: bare }),
    },
    {
      what: "the configuration edited in place, same size, its modification time put back (touch -r, rsync -t)",
      // Whole seconds, which every layer stores exactly, so that putting the time back restores it.
      prepare: async () => fs.utimesSync(path.join(bare, "config"), WHOLE_SECONDS, WHOLE_SECONDS),
      change: async () => {
        const config = path.join(bare, "config");
        fs.writeFileSync(config, fs.readFileSync(config, "utf8").replace("bare = true", "bare = TRUE"));
        fs.utimesSync(config, WHOLE_SECONDS, WHOLE_SECONDS);
        assert.equal(fs.statSync(config).mtimeMs, WHOLE_SECONDS * 1000, "the modification time is back");
      },
    },
    {
      // An annotated tag's peeled value is listed only once its object is there (a repository being restored).
      what: "objects arriving as a pack copied in",
      change: async () => {
        const other = await repository();
        await gitOk(["repack", "-a", "-d", "-q"], { cwd: other });
        const pack = path.join(other, "objects", "pack");
        for (const file of fs.readdirSync(pack)) fs.copyFileSync(path.join(pack, file), path.join(bare, "objects", "pack", file));
      },
    },
  ];
  for (const { what, prepare, change } of changes) {
    it(`gives nothing back once ${what}`, async () => {
      await prepare?.();
      const cache = new RefListCache(PROGRAM, later);
      assert.ok(keptAfterStore(cache));
      await new Promise((resolve) => setTimeout(resolve, 20)); // a file time of its own
      await change();
      const after = cache.lookup(bare, PROTOCOL, lsRefs("peel"));
      assert.ok(after && !("bytes" in after), `a new stamp after: ${what}`);
    });
  }

  it("never keeps anything for a configuration that includes other files (their changes would go unseen)", async () => {
    const included = path.join(tempDir(), "hidden.config");
    fs.writeFileSync(included, "[uploadpack]\n\thideRefs = refs/heads/secret\n");
    await gitOk(["config", "include.path", included], { cwd: bare });
    assert.equal(new RefListCache(PROGRAM, later).lookup(bare, PROTOCOL, lsRefs()), undefined, "[include]");
    await gitOk(["config", "--unset", "include.path"], { cwd: bare });
    assert.ok(new RefListCache(PROGRAM, later).lookup(bare, PROTOCOL, lsRefs()), "without it");
    fs.appendFileSync(path.join(bare, "config"), `[IncludeIf "gitdir:${bare}"]\n\tpath = ${included}\n`);
    assert.equal(new RefListCache(PROGRAM, later).lookup(bare, PROTOCOL, lsRefs()), undefined, "[includeIf], any case");
  });

  it("never keeps what it cannot watch: a symbolic link under refs/, reftable, too many refs", async () => {
    const cache = new RefListCache(PROGRAM, later);
    fs.symlinkSync(path.join(bare, "refs", "heads", "main"), path.join(bare, "refs", "heads", "linked"));
    assert.equal(cache.lookup(bare, PROTOCOL, lsRefs()), undefined, "a symbolic link");
    fs.rmSync(path.join(bare, "refs", "heads", "linked"));
    fs.mkdirSync(path.join(bare, "reftable"));
    assert.equal(cache.lookup(bare, PROTOCOL, lsRefs()), undefined, "reftable");
    fs.rmSync(path.join(bare, "reftable"), { recursive: true });
    const main = (await gitOk(["rev-parse", "main"], { cwd: bare })).trim();
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(bare, "refs", "tags", `t${i}`), `${main}\n`);
    assert.equal(cache.lookup(bare, PROTOCOL, lsRefs()), undefined, "300 loose refs");
    assert.equal(cache.lookup(path.join(bare, "missing"), PROTOCOL, lsRefs()), undefined, "a repository that is not there");
  });

  it("keeps only whole answers of a bounded size", () => {
    const cache = new RefListCache(PROGRAM, later);
    const body = lsRefs();
    const first = cache.lookup(bare, PROTOCOL, body);
    assert.ok(first && "stamp" in first);
    cache.store(bare, PROTOCOL, body, first.stamp, ANSWER.subarray(0, -4));
    assert.ok(!("bytes" in (cache.lookup(bare, PROTOCOL, body) ?? {})), "an answer without its closing flush");
    cache.store(bare, PROTOCOL, body, first.stamp, Buffer.concat([Buffer.alloc(300 * 1024, "0"), Buffer.from("0000")]));
    assert.ok(!("bytes" in (cache.lookup(bare, PROTOCOL, body) ?? {})), "an answer over 256 KiB");
  });

  it("keeps at most 16 MiB, request bodies counted: varied requests cannot grow it without bound", () => {
    const cache = new RefListCache(PROGRAM, later);
    assert.ok(keptAfterStore(cache, lsRefs("peel")));
    const first = cache.lookup(bare, PROTOCOL, lsRefs("peel"));
    assert.ok(first && "bytes" in first);
    const stamped = cache.lookup(bare, PROTOCOL, lsRefs("symrefs"));
    assert.ok(stamped && "stamp" in stamped);
    // 5,000 requests of ~4 KiB that differ in one argument, each with a short answer: ~20 MiB of keys.
    for (let i = 0; i < 5000; i++)
      cache.store(bare, PROTOCOL, lsRefs(`ref-prefix ${String(i).padStart(4000, "x")}`), stamped.stamp, ANSWER);
    assert.ok(!("bytes" in (cache.lookup(bare, PROTOCOL, lsRefs("peel")) ?? {})), "the budget was reached and the store emptied");
  });

  it("recognises whole ls-refs requests only", () => {
    assert.ok(isRefListRequest(lsRefs("peel", "symrefs", "ref-prefix refs/heads/")));
    assert.ok(!isRefListRequest(Buffer.from(`${pkt("command=fetch\n")}0001${pkt("done\n")}0000`)), "a fetch");
    assert.ok(!isRefListRequest(lsRefs().subarray(0, -4)), "cut before its flush");
    assert.ok(!isRefListRequest(Buffer.concat([lsRefs(), Buffer.alloc(5000)])), "over 4 KiB");
  });
});
