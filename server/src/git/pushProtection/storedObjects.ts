import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { HASH_BYTES, NotReadable, OFS_DELTA, readLoose, REF_DELTA, applyDelta, spend, TYPES, type StoredObject } from "./quarantineReader";
import { inflateStream } from "./inflater";

type Content = Omit<StoredObject, "id">;
const INDEX_MAGIC = 0xff744f63;
const MAX_CHAIN = 4096; // git's deepest delta chain is 4095; deeper, a loop
/** Objects inflated from the repository for one check (a thin pack's bases and their chains). */
const MAX_INFLATES = 2000;

/** The repository has no object with that id. */
class NotHere extends Error {}

/** The id git gives an object: SHA-1 of "<type> <size>\0" and the content. */
export const objectId = (type: string, content: Buffer): string =>
  createHash("sha1").update(`${type} ${content.length}\0`, "latin1").update(content).digest("hex");

interface OpenPack {
  pack: number;
  index: number;
  count: number;
  fanout: Buffer;
  packBytes: number;
}

/**
 * Per objects folder, the pack a thin pack's base was last found in: searched first next time.
 * Bases are mostly in one pack (the repository's big one), and every push of 100 objects or more
 * adds a pack until git's housekeeping joins them: opening and searching every pack per push
 * was most of what was left of the check's reading.
 */
const lastBasePack = new Map<string, string>();
const MAX_REMEMBERED = 10_000;

/**
 * Objects a repository already has, read from its loose files and its packs through their
 * version-2 indexes, with positional reads (an index of a million objects is not read whole):
 * the bases a thin pack's deltas name. Every object is checked against its id (SHA-1 of what was
 * read), so a misread is a NotReadable, never other content. A repository whose objects live
 * partly elsewhere (alternates) is not read here.
 */
export class RepositoryObjects {
  /** The folder's packs by name, each opened when first searched. */
  private packs: { name: string; opened?: OpenPack }[] | undefined;
  private readonly read = new Map<string, Content>();
  /** Entries of packs already read, by pack and offset: a chain's bases are read once. */
  private readonly packed = new Map<OpenPack, Map<number, Content>>();
  private inflates = 0;
  private packsFailed = false;

  constructor(private readonly objectsDirectory: string) {}

  static forRepository(repositoryPath: string): RepositoryObjects {
    return new RepositoryObjects(path.join(repositoryPath, "objects"));
  }

  /**
   * The object with this id; undefined when the repository does not have it; a NotReadable when
   * it cannot be read with certainty (or within the budget).
   */
  find(id: string, budget: { left: number }): Content | undefined {
    try {
      return this.get(id, budget);
    } catch (error) {
      if (error instanceof NotHere) return undefined;
      throw error;
    }
  }

  private get(id: string, budget: { left: number }, depth = 0): Content {
    const known = this.read.get(id);
    if (known) return known;
    if (depth > MAX_CHAIN || !/^[0-9a-f]{40}$/.test(id)) throw new NotReadable();
    let object: Content | undefined;
    const loose = path.join(this.objectsDirectory, id.slice(0, 2), id.slice(2));
    if (fs.existsSync(loose)) {
      // Its compressed size first: a large loose object is not read to find out it is too large.
      if (fs.statSync(loose).size > budget.left + 1024) throw new NotReadable();
      this.work();
      object = readLoose(this.objectsDirectory, id, budget);
    } else {
      for (const entry of this.listPacks()) {
        const pack = (entry.opened ??= this.openPack(entry.name));
        const offset = findInIndex(pack, id);
        if (offset !== undefined) {
          object = this.readPacked(pack, offset, budget, depth);
          if (depth === 0) this.remember(entry.name);
          break;
        }
      }
    }
    if (!object) throw depth === 0 ? new NotHere() : new NotReadable(); // a pack's delta on a missing base: git's problem
    if (objectId(object.type, object.content) !== id) throw new NotReadable();
    this.read.set(id, object);
    return object;
  }

  /** Inflates so far: a repository's deep delta chains cost a bounded amount per check. */
  private work(): void {
    if (++this.inflates > MAX_INFLATES) throw new NotReadable();
  }

  close(): void {
    for (const { opened } of this.packs ?? []) {
      if (!opened) continue;
      fs.closeSync(opened.pack);
      fs.closeSync(opened.index);
    }
    this.packs = [];
  }

  private remember(packName: string): void {
    if (lastBasePack.size >= MAX_REMEMBERED && !lastBasePack.has(this.objectsDirectory)) lastBasePack.clear();
    lastBasePack.set(this.objectsDirectory, packName);
  }

  /** The folder's packs (the last one a base was found in first), read once per check. */
  private listPacks(): { name: string; opened?: OpenPack }[] {
    if (this.packs) {
      // A pack that failed to open would make the objects in it look missing.
      if (this.packsFailed) throw new NotReadable();
      return this.packs;
    }
    this.packs = [];
    this.packsFailed = true;
    if (fs.existsSync(path.join(this.objectsDirectory, "info", "alternates"))) throw new NotReadable();
    const folder = path.join(this.objectsDirectory, "pack");
    const files = fs.existsSync(folder) ? fs.readdirSync(folder) : [];
    // An index without its pack is being written or removed: git ignores it too.
    const names = files.filter((n) => /^pack-[0-9a-f]{40}\.idx$/.test(n) && files.includes(n.replace(/\.idx$/, ".pack")));
    const first = lastBasePack.get(this.objectsDirectory);
    names.sort((a, b) => Number(b === first) - Number(a === first));
    this.packs = names.map((name) => ({ name }));
    this.packsFailed = false;
    return this.packs;
  }

  private openPack(name: string): OpenPack {
    const folder = path.join(this.objectsDirectory, "pack");
    let index: number | undefined;
    let pack: number | undefined;
    try {
      index = fs.openSync(path.join(folder, name), "r");
      pack = fs.openSync(path.join(folder, name.replace(/\.idx$/, ".pack")), "r"); // removed meanwhile (a repack): the check gives up
      const header = readAt(index, 0, 8 + 1024);
      const packHeader = readAt(pack, 0, 12);
      if (header.length < 8 + 1024 || header.readUInt32BE(0) !== INDEX_MAGIC || header.readUInt32BE(4) !== 2) throw new NotReadable();
      if (packHeader.toString("latin1", 0, 4) !== "PACK") throw new NotReadable();
      return { pack, index, count: header.readUInt32BE(8 + 255 * 4), fanout: header.subarray(8), packBytes: fs.fstatSync(pack).size };
    } catch (error) {
      if (pack !== undefined) fs.closeSync(pack);
      if (index !== undefined) fs.closeSync(index);
      this.packsFailed = true;
      throw error;
    }
  }

  private readPacked(pack: OpenPack, offset: number, budget: { left: number }, depth: number): Content {
    let done = this.packed.get(pack);
    if (!done) this.packed.set(pack, (done = new Map<number, Content>()));
    const known = done.get(offset);
    if (known) return known;
    const object = this.readPackedEntry(pack, offset, budget, depth);
    done.set(offset, object);
    return object;
  }

  private readPackedEntry(pack: OpenPack, offset: number, budget: { left: number }, depth: number): Content {
    if (depth > MAX_CHAIN || offset < 12 || offset >= pack.packBytes - HASH_BYTES) throw new NotReadable();
    this.work();
    const head = readAt(pack.pack, offset, 64);
    let at = 0;
    let byte = head[at++] as number;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    for (let shift = 4; byte & 0x80; shift += 7) {
      if (shift > 57 || at >= head.length) throw new NotReadable();
      byte = head[at++] as number;
      size += (byte & 0x7f) * 2 ** shift;
    }
    let base: Content | undefined;
    if (type === OFS_DELTA) {
      byte = head[at++] as number;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        if (at >= 16) throw new NotReadable();
        byte = head[at++] as number;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      base = this.readPacked(pack, offset - back, budget, depth + 1);
    } else if (type === REF_DELTA) {
      base = this.get(head.toString("hex", at, at + HASH_BYTES), budget, depth + 1);
      at += HASH_BYTES;
    } else if (!(type in TYPES)) {
      throw new NotReadable();
    }
    if (size > budget.left) throw new NotReadable();
    // Deflate adds at most a few bytes per 16 KiB block to what it cannot compress.
    const compressed = readAt(pack.pack, offset + at, Math.min(size + (size >> 10) + 1024, pack.packBytes - HASH_BYTES - offset - at));
    const { data } = inflateStream(compressed, 0, compressed.length, size);
    spend(budget, size);
    return base
      ? { type: base.type, content: applyDelta(base.content, data, budget) }
      : { type: TYPES[type as keyof typeof TYPES], content: data };
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  if (length <= 0) throw new NotReadable();
  const buffer = Buffer.alloc(length);
  const read = fs.readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

/** Binary search of a version-2 index's sorted names within the fan-out's range: the object's offset in its pack. */
function findInIndex(pack: OpenPack, id: string): number | undefined {
  const wanted = Buffer.from(id, "hex");
  const first = wanted[0] as number;
  let low = first === 0 ? 0 : pack.fanout.readUInt32BE((first - 1) * 4);
  let high = pack.fanout.readUInt32BE(first * 4);
  const names = 8 + 1024;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const name = readAt(pack.index, names + middle * HASH_BYTES, HASH_BYTES);
    if (name.length !== HASH_BYTES) throw new NotReadable();
    const order = Buffer.compare(name, wanted);
    if (order === 0) {
      const offsets = names + pack.count * (HASH_BYTES + 4);
      const small = readAt(pack.index, offsets + middle * 4, 4).readUInt32BE(0);
      if (!(small & 0x80000000)) return small;
      const large = readAt(pack.index, offsets + pack.count * 4 + (small & 0x7fffffff) * 8, 8);
      if (large.length !== 8) throw new NotReadable();
      return Number(large.readBigUInt64BE(0));
    }
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return undefined;
}
