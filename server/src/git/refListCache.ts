import fs from "node:fs";
import path from "node:path";
import { configurationStamp, FLUSH } from "./advertisementCache";

/** An ls-refs request is a few lines (command, agent, arguments); a longer body is not looked up. */
export const MAX_REF_LIST_REQUEST_BYTES = 4096;
/** A longer answer (a repository with thousands of refs) is not kept: git answers it each time. */
export const MAX_REF_LIST_BYTES = 256 * 1024;
const MAX_KEPT_BYTES = 16 * 1024 * 1024;
/**
 * Loose refs, folders and files together: a repository with more is not stamped (git answers).
 * The stamp is read on the event loop, ~5 µs an entry here: at most about a millisecond.
 */
const MAX_STAMPED_ENTRIES = 256;
/**
 * A file changed less than this long ago may change again without its stamp changing (file
 * times come from a coarse clock, a few milliseconds here, a second on some filesystems): an
 * answer read from such a state is not kept, as git treats a "racily clean" index.
 */
const RACY_MS = 2000;
const LS_REFS = Buffer.from("0014command=ls-refs\n");
/**
 * Filesystems whose stat() shows another writer's change at once (an instance beside this one
 * pushing to the same folder). Not NFS or SMB, whose clients cache attributes for seconds.
 */
const COHERENT_FILESYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x794c7630, // overlayfs (containers)
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
]);

/** A protocol-v2 request body that is an ls-refs command, whole (it ends with a flush). */
export const isRefListRequest = (body: Buffer): boolean =>
  body.length <= MAX_REF_LIST_REQUEST_BYTES && body.subarray(0, LS_REFS.length).equals(LS_REFS) && body.subarray(-4).equals(FLUSH);

/**
 * git's answer to protocol v2's ls-refs, per repository and request: every fetch and clone
 * asks for the list of refs, and a fetch with nothing new asks for nothing else, so without
 * this each one starts `git upload-pack` to print the bytes it printed last time. Kept while
 * nothing it is read from has changed: the refs (HEAD, packed-refs, every file and folder
 * under refs/: git moves a ref by renaming a new file over it), the configuration (hidden
 * refs) and git itself, each compared by inode, size and times on every lookup. The key is
 * the whole request body, so arguments (ref-prefix, peel, symrefs, unborn) select their own answer.
 */
export class RefListCache {
  private readonly entries = new Map<string, { stamp: string; bytes: Buffer }>();
  private keptBytes = 0;
  /** Lookups so far: answered from memory (hits), or left to git (misses). */
  readonly lookups = { hits: 0, misses: 0 };

  /** `program`: the upload-pack program git runs (uploadPackProgram()); `now`: the clock the racy rule reads. */
  constructor(
    private readonly program: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The kept answer for this request, or the stamp to keep git's answer under (absent when the
   * repository's state cannot be trusted to tell a change: git answers, and nothing is kept).
   */
  lookup(directory: string, protocol: string, body: Buffer): { bytes: Buffer } | { stamp: string } | undefined {
    const stamped = this.stampOf(directory);
    const entry = stamped && this.entries.get(keyOf(directory, protocol, body));
    if (entry && entry.stamp === stamped.stamp) {
      this.lookups.hits++;
      return { bytes: entry.bytes };
    }
    this.lookups.misses++;
    if (!stamped) return undefined;
    // Changed a moment ago: it may change again within the same file time.
    return this.now() - stamped.newestMs > RACY_MS ? { stamp: stamped.stamp } : undefined;
  }

  /** git's whole answer (exit 0), kept for the next request with the same stamp. */
  store(directory: string, protocol: string, body: Buffer, stamp: string, bytes: Buffer): void {
    if (bytes.length > MAX_REF_LIST_BYTES || !bytes.subarray(-4).equals(FLUSH)) return;
    const key = keyOf(directory, protocol, body);
    // Keys count too: a client may vary its request (the agent line) to make many small entries.
    const size = (entry: { stamp: string; bytes: Buffer }) => key.length + entry.stamp.length + entry.bytes.length;
    const replaced = this.entries.get(key);
    if (replaced) this.keptBytes -= size(replaced);
    const entry = { stamp, bytes };
    if (this.keptBytes + size(entry) > MAX_KEPT_BYTES) {
      this.entries.clear();
      this.keptBytes = 0;
    }
    this.keptBytes += size(entry);
    this.entries.set(key, entry);
  }

  private stampOf(directory: string): { stamp: string; newestMs: number } | undefined {
    try {
      if (!COHERENT_FILESYSTEMS.has(fs.statfsSync(directory).type)) return undefined;
      // Another ref storage (reftable) keeps refs where this does not look.
      if (fs.existsSync(path.join(directory, "reftable"))) return undefined;
      const configuration = configurationStamp(directory, this.program);
      if (!configuration) return undefined;
      const refs = new RefsStamp(directory);
      refs.add(path.join(directory, "HEAD"));
      refs.add(path.join(directory, "packed-refs"));
      // A tag's peeled value needs its object: one that arrives later (a pack, a new loose folder) is seen.
      refs.add(path.join(directory, "objects"));
      refs.add(path.join(directory, "objects", "pack"));
      if (!refs.addTree(path.join(directory, "refs")) || refs.linked) return undefined;
      return { stamp: `${configuration.stamp} ${refs.parts.join(" ")}`, newestMs: Math.max(configuration.newestMs, refs.newestMs) };
    } catch {
      return undefined; // unreadable (EACCES, a folder gone): git answers, and nothing is kept
    }
  }
}

const keyOf = (directory: string, protocol: string, body: Buffer): string => `${protocol}\n${directory}\n${body.toString("latin1")}`;

/** The identities of the files and folders refs are read from, each with its name. */
class RefsStamp {
  readonly parts: string[] = [];
  newestMs = 0;
  /** A symbolic link among them: what it points to could change unseen. */
  linked = false;

  constructor(private readonly directory: string) {}

  /** One file or folder; a missing one counts as such (packed-refs may rightly be absent). */
  add(file: string): fs.Stats | undefined {
    const name = file.slice(this.directory.length);
    const stat = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!stat) {
      this.parts.push(`${name}:-`);
      return undefined;
    }
    if (stat.isSymbolicLink()) this.linked = true;
    this.parts.push(`${name}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`);
    this.newestMs = Math.max(this.newestMs, stat.mtimeMs, stat.ctimeMs);
    return stat;
  }

  /** A folder and everything in it; false when there is too much to stamp. */
  addTree(folder: string): boolean {
    const pending = [folder];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      if (!this.add(next)?.isDirectory()) continue;
      const names = fs.readdirSync(next);
      if (this.parts.length + pending.length + names.length > MAX_STAMPED_ENTRIES) return false;
      // In name order: the same tree always gives the same stamp, whatever order the folder lists.
      for (const name of names.sort()) pending.push(path.join(next, name));
    }
    return true;
  }
}
