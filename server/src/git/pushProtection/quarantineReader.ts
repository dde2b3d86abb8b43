import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

/** One object of a push, as `git cat-file --batch` would show it. */
export interface StoredObject {
  id: string;
  type: "commit" | "tree" | "blob" | "tag";
  content: Buffer;
}

/**
 * Up to this many bytes of files in the quarantine folder are read here, synchronously; a larger
 * push is left to `git cat-file`, which streams, so that no push holds the event loop for long.
 * A typical push is a few kilobytes.
 */
export const READ_DIRECTLY_UP_TO_BYTES = 1024 * 1024;
/** And up to this many bytes of objects once inflated (a small pack can inflate to a lot). */
export const MAX_INFLATED_BYTES = 8 * 1024 * 1024;

export const TYPES = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" } as const;
export const OFS_DELTA = 6;
export const REF_DELTA = 7;
export const HASH_BYTES = 20; // SHA-1; a SHA-256 repository's files do not add up and are left to git
const LOOSE_FOLDER = /^[0-9a-f]{2}$/;
const LOOSE_FILE = /^[0-9a-f]{38}$/;
// Beside a pack and its index: a .rev (reverse index, written by default since git 2.41) is
// derived from them, and the .keep that receive-pack's index-pack holds until the refs are updated.
const PACK_FILE = /^pack-[0-9a-f]{40}\.(pack|idx|rev|keep)$/;

/** Something here is not what this reader knows for certain: the caller asks git instead. */
export class NotReadable extends Error {}

/**
 * Every object in a push's quarantine folder (git receive-pack's `tmp_objdir-incoming-*`), read
 * in this process: loose objects and packs with their deltas resolved. Saves starting `git
 * cat-file` (a few milliseconds, most of push protection's cost for a small push). Returns
 * undefined for anything it does not know for certain (a large push, a file it does not expect,
 * an index or pack it cannot account for byte for byte): every object is read, or none.
 */
export function readQuarantinedObjects(quarantine: string): StoredObject[] | undefined {
  try {
    return readAll(quarantine);
  } catch {
    // NotReadable, a file that went away, zlib's complaint, a chain deeper than the stack: git
    // reads these objects (it is the reference), only more slowly.
    return undefined;
  }
}

function readAll(quarantine: string): StoredObject[] {
  const loose: string[] = [];
  const packs: string[] = [];
  let bytes = 0;
  const count = (file: string) => {
    bytes += fs.statSync(file).size;
    if (bytes > READ_DIRECTLY_UP_TO_BYTES) throw new NotReadable();
  };
  for (const entry of fs.readdirSync(quarantine, { withFileTypes: true })) {
    const full = path.join(quarantine, entry.name);
    if (entry.isDirectory() && LOOSE_FOLDER.test(entry.name)) {
      for (const file of fs.readdirSync(full, { withFileTypes: true })) {
        if (!file.isFile() || !LOOSE_FILE.test(file.name)) throw new NotReadable();
        count(path.join(full, file.name));
        loose.push(entry.name + file.name);
      }
    } else if (entry.isDirectory() && entry.name === "pack") {
      const names = fs.readdirSync(full);
      for (const name of names) {
        const match = PACK_FILE.exec(name);
        if (!match) throw new NotReadable(); // a .promisor, .mtimes, a temporary file…
        count(path.join(full, name));
        if (match[1] === "pack") {
          if (!names.includes(name.replace(/\.pack$/, ".idx"))) throw new NotReadable();
          packs.push(path.join(full, name));
        } else if (!names.includes(name.replace(/\.(idx|rev|keep)$/, ".pack"))) throw new NotReadable();
      }
    } else {
      throw new NotReadable();
    }
  }
  const budget = { left: MAX_INFLATED_BYTES };
  const objects = loose.map((id) => readLoose(quarantine, id, budget));
  for (const pack of packs) objects.push(...readPack(pack, budget));
  return objects;
}

/** A loose object: zlib of "<type> <size>\0<content>". */
export function readLoose(quarantine: string, id: string, budget: { left: number }): StoredObject {
  const file = path.join(quarantine, id.slice(0, 2), id.slice(2));
  const raw = zlib.inflateSync(fs.readFileSync(file), { maxOutputLength: budget.left + 64 });
  const nul = raw.indexOf(0);
  const header = /^(commit|tree|blob|tag) (\d+)$/.exec(raw.toString("latin1", 0, Math.max(nul, 0)));
  if (nul < 0 || !header || Number(header[2]) !== raw.length - nul - 1) throw new NotReadable();
  spend(budget, raw.length);
  return { id, type: header[1] as StoredObject["type"], content: raw.subarray(nul + 1) };
}

interface PackEntry {
  id: string;
  offset: number;
}

/** A pack and its version-2 index: every object the index names, deltas applied. */
function readPack(packPath: string, budget: { left: number }): StoredObject[] {
  const entries = readIndex(packPath.replace(/\.pack$/, ".idx"));
  const pack = fs.readFileSync(packPath);
  if (pack.length < 12 + HASH_BYTES || pack.toString("latin1", 0, 4) !== "PACK") throw new NotReadable();
  const version = pack.readUInt32BE(4);
  if ((version !== 2 && version !== 3) || pack.readUInt32BE(8) !== entries.length) throw new NotReadable();
  const byOffset = [...entries].sort((a, b) => a.offset - b.offset);
  const idAt = new Map(byOffset.map((e) => [e.offset, e.id]));
  if (idAt.size !== entries.length) throw new NotReadable(); // two names at one offset: no index-pack writes that
  const offsetOf = new Map(byOffset.map((e) => [e.id, e.offset]));
  const end = new Map(byOffset.map((e, i) => [e.offset, byOffset[i + 1]?.offset ?? pack.length - HASH_BYTES]));
  if ((byOffset[0]?.offset ?? 12) !== 12) throw new NotReadable(); // bytes no index entry accounts for
  const resolved = new Map<number, { type: StoredObject["type"]; content: Buffer }>();

  const resolve = (offset: number, depth: number): { type: StoredObject["type"]; content: Buffer } => {
    const done = resolved.get(offset);
    if (done) return done;
    if (depth > 4096) throw new NotReadable(); // git's deepest chain is 4095; deeper, a loop
    const stop = end.get(offset);
    if (stop === undefined) throw new NotReadable();
    let at = offset;
    let byte = pack[at++] as number;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    for (let shift = 4; byte & 0x80; shift += 7) {
      if (shift > 57) throw new NotReadable(); // git's reader stops at 9 bytes ("bad object header")
      byte = pack[at++] as number;
      size += (byte & 0x7f) * 2 ** shift;
    }
    let base: { type: StoredObject["type"]; content: Buffer } | undefined;
    if (type === OFS_DELTA) {
      byte = pack[at++] as number;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        byte = pack[at++] as number;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      base = resolve(offset - back, depth + 1);
    } else if (type === REF_DELTA) {
      const baseOffset = offsetOf.get(pack.toString("hex", at, at + HASH_BYTES));
      if (baseOffset === undefined) throw new NotReadable(); // a base outside the pack: git knows where
      at += HASH_BYTES;
      base = resolve(baseOffset, depth + 1);
    } else if (!(type in TYPES)) {
      throw new NotReadable();
    }
    if (at > stop || size > budget.left) throw new NotReadable();
    const data = zlib.inflateSync(pack.subarray(at, stop), inflateOptions(size));
    if (data.length !== size) throw new NotReadable();
    spend(budget, size);
    const object = base
      ? { type: base.type, content: applyDelta(base.content, data, budget) }
      : { type: TYPES[type as keyof typeof TYPES], content: data };
    resolved.set(offset, object);
    return object;
  };
  return byOffset.map(({ offset }) => ({ id: idAt.get(offset) as string, ...resolve(offset, 0) }));
}

/** A version-2 pack index whose size adds up exactly for SHA-1 names: every object's id and offset. */
function readIndex(indexPath: string): PackEntry[] {
  const index = fs.readFileSync(indexPath);
  if (index.length < 8 + 1024 || index.readUInt32BE(0) !== 0xff744f63 || index.readUInt32BE(4) !== 2) throw new NotReadable();
  const count = index.readUInt32BE(8 + 255 * 4);
  const names = 8 + 1024;
  const offsets = names + count * (HASH_BYTES + 4);
  const large = offsets + count * 4;
  const largeCount = Array.from({ length: count }, (_, i) => index.readUInt32BE(offsets + i * 4)).filter((o) => o & 0x80000000).length;
  if (index.length !== large + largeCount * 8 + 2 * HASH_BYTES) throw new NotReadable();
  return Array.from({ length: count }, (_, i) => {
    const small = index.readUInt32BE(offsets + i * 4);
    const offset = small & 0x80000000 ? Number(index.readBigUInt64BE(large + (small & 0x7fffffff) * 8)) : small;
    return { id: index.toString("hex", names + i * HASH_BYTES, names + (i + 1) * HASH_BYTES), offset };
  });
}

/** git's delta format: the base's and result's sizes, then copy-from-base and insert instructions. */
export function applyDelta(base: Buffer, delta: Buffer, budget: { left: number }): Buffer {
  let at = 0;
  const varint = () => {
    let value = 0;
    let byte: number;
    let shift = 0;
    do {
      byte = delta[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && at < delta.length);
    return value;
  };
  if (varint() !== base.length) throw new NotReadable();
  const size = varint();
  if (size === 0 || at > delta.length) throw new NotReadable(); // git lists an empty delta result as missing
  spend(budget, size);
  const result = Buffer.allocUnsafe(size);
  let written = 0;
  while (at < delta.length) {
    const op = delta[at++] as number;
    if (op & 0x80) {
      const params = [0, 1, 2, 3, 4, 5, 6].filter((i) => op & (1 << i)).length;
      if (at + params > delta.length) throw new NotReadable(); // cut short: git refuses it too
      let offset = 0;
      let length = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) offset += (delta[at++] as number) * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (1 << (4 + i))) length += (delta[at++] as number) * 2 ** (8 * i);
      if (length === 0) length = 0x10000;
      if (offset + length > base.length || written + length > size) throw new NotReadable();
      base.copy(result, written, offset, offset + length);
      written += length;
    } else if (op > 0) {
      if (at + op > delta.length || written + op > size) throw new NotReadable();
      delta.copy(result, written, at, at + op);
      written += op;
      at += op;
    } else {
      throw new NotReadable(); // opcode 0 is reserved
    }
  }
  if (written !== size) throw new NotReadable();
  return result;
}

/**
 * No more than the object's size (a pack that lies about it fails), in one output chunk of about
 * that size: zlib's default 16 KiB per object made a push of many small objects mostly garbage.
 */
export const inflateOptions = (size: number): zlib.ZlibOptions => ({
  maxOutputLength: size + 1,
  chunkSize: Math.min(Math.max(size + 1, 64), 64 * 1024),
});

export function spend(budget: { left: number }, bytes: number): void {
  budget.left -= bytes;
  if (budget.left < 0) throw new NotReadable();
}
