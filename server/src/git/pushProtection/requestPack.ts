import { createHash } from "node:crypto";
import {
  applyDelta,
  HASH_BYTES,
  MAX_INFLATED_BYTES,
  NotReadable,
  OFS_DELTA,
  READ_DIRECTLY_UP_TO_BYTES,
  REF_DELTA,
  spend,
  TYPES,
  type StoredObject,
} from "./quarantineReader";
import { inflateStream } from "./inflater";
import { BatchScanner, mayHoldToken, TOKEN_SHAPE } from "./scan";
import { objectId, RepositoryObjects } from "./storedObjects";

/** Request bodies up to this size are read whole before git starts, and checked here. */
export const CHECK_BEFORE_GIT_UP_TO_BYTES = READ_DIRECTLY_UP_TO_BYTES;

const ZERO_ID = "0".repeat(40);
/** Objects one checked pack may hold (a push of 50 commits has about 150): more go to the hook. */
const MAX_ENTRIES = 10_000;
const COMMAND = /^([0-9a-f]{40}) ([0-9a-f]{40}) ([^\0\s]+)$/;
/**
 * Capabilities a push request may name that do not change what follows its commands (a flush,
 * then the pack). push-options adds lines after the flush, and anything unknown may: those go to
 * the hook.
 */
const PLAIN_CAPABILITIES =
  /^(report-status|report-status-v2|side-band-64k|side-band|quiet|atomic|delete-refs|ofs-delta|agent=\S*|object-format=sha1|session-id=\S*)$/;

interface Command {
  oldId: string;
  newId: string;
  ref: string;
}

/**
 * Where a push request's commands end (git receive-pack's input in stateless RPC: pkt-lines, a
 * flush, then the pack), if they are commands this reader knows and no ref name is shaped like a
 * token; undefined otherwise (a push certificate, push options, a shallow client, anything else).
 * git cannot act on a push before it has read all of its pack: a service that holds the pack back
 * may start git and decide meanwhile (isProvenClean) whether git needs push protection's hook.
 */
export function pushCommandsEnd(body: Buffer): number | undefined {
  try {
    const { commands, packStart } = readCommands(body);
    return commands.some((command) => command.ref.match(TOKEN_SHAPE)) ? undefined : packStart;
  } catch {
    return undefined;
  }
}

/**
 * Whether a push's whole request body is proven to carry no token-shaped string with a valid
 * checksum, in a ref name or in any object its pack adds: then git needs no hook of push
 * protection (a program start and a second read of the same objects). Only what git's own
 * clients send is read; a pack it cannot account for byte for byte (bytes after its checksum, a
 * delta whose base it cannot read with certainty), more than it reads in one go, anything else
 * is "not proven", and the hook checks the push as before. Never throws.
 */
export function isProvenClean(body: Buffer, repositoryPath: string, reading: PackReading = { upTo: 0 }): boolean {
  const steps = checkSteps(body, repositoryPath, reading);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * How far into the body the check has read its pack's entries, each whole (its zlib stream to its
 * end): never into the pack's SHA-1 trailer, which git must read before it acts on a command. git
 * parses entries as the check does (header, then a zlib stream to its end), so git given the body
 * up to `upTo` has at most these entries and waits for more: a service may send it that much
 * before the verdict, and git unpacks while the check goes on.
 */
export interface PackReading {
  upTo: number;
}

/** How long the check holds the event loop at a time: other requests (and git starting for this push) go on between slices. */
const SLICE_MS = 1;

export interface SliceOptions {
  /** The time the check's slices took is added here. */
  spent?: { ms: number };
  /** Once true (the client went away), the check stops: not proven. */
  abandoned?: () => boolean;
  /** Called between slices with PackReading.upTo, when it has grown. */
  readUpTo?: (offset: number) => void;
}

/**
 * isProvenClean in slices of about a millisecond: the service answers other requests meanwhile,
 * and the git process host starts git for this push while the pack is read.
 */
export async function isProvenCleanInSlices(body: Buffer, repositoryPath: string, options: SliceOptions = {}): Promise<boolean> {
  const { spent = { ms: 0 }, abandoned = () => false, readUpTo = () => undefined } = options;
  const reading: PackReading = { upTo: 0 };
  let reported = 0;
  const steps = checkSteps(body, repositoryPath, reading);
  let start = performance.now();
  for (;;) {
    if (abandoned()) {
      steps.return(false); // runs its finally
      return false;
    }
    const step = steps.next();
    const now = performance.now();
    if (step.done) {
      spent.ms += now - start;
      return step.value;
    }
    if (now - start < SLICE_MS) continue;
    spent.ms += now - start;
    if (reading.upTo > reported) readUpTo((reported = reading.upTo));
    await new Promise((resolve) => setImmediate(resolve));
    start = performance.now();
  }
}

/** The check, yielding between objects; run to its end (its finally closes the repository's packs). */
function* checkSteps(body: Buffer, repositoryPath: string, reading: PackReading): Generator<void, boolean> {
  if (body.length > CHECK_BEFORE_GIT_UP_TO_BYTES) return false;
  const packStart = pushCommandsEnd(body);
  if (packStart === undefined) return false;
  const stored = RepositoryObjects.forRepository(repositoryPath);
  try {
    const { commands } = readCommands(body);
    // Deletions only: git reads no pack (nor runs a hook of ours that would check one). git acts
    // on them as soon as it has read the commands, before this answers: a rule that refused
    // deletions could not live on this path.
    if (commands.every((command) => command.newId === ZERO_ID)) return true;
    const scanner = new BatchScanner();
    const objects = yield* readPackObjects(body.subarray(packStart), stored, (entriesEnd) => (reading.upTo = packStart + entriesEnd));
    for (const object of objects) {
      // The scanner checks each object it searches against its id.
      if (mayHoldToken(object.content)) scanner.object(object.id || objectId(object.type, object.content), object.type, object.content);
      yield;
    }
    return scanner.candidates.size === 0;
  } catch {
    // NotReadable, zlib's complaint, too many candidates, a file that went away: the hook decides.
    return false;
  } finally {
    stored.close();
  }
}

/** The pkt-lines before the pack: "<old> <new> <ref>" each (the first with "\0<capabilities>"), then a flush. */
function readCommands(body: Buffer): { commands: Command[]; packStart: number } {
  const commands: Command[] = [];
  let at = 0;
  for (;;) {
    const lengthText = body.toString("latin1", at, at + 4);
    if (!/^[0-9a-f]{4}$/.test(lengthText)) throw new NotReadable();
    const length = parseInt(lengthText, 16);
    if (length === 0) break;
    // 0001–0004 (delim, response end, empty) are not part of a push request.
    if (length < 5 || at + length > body.length) throw new NotReadable();
    let line = body.toString("latin1", at + 4, at + length);
    at += length;
    if (line.endsWith("\n")) line = line.slice(0, -1);
    const nul = line.indexOf("\0");
    if (nul >= 0) {
      if (commands.length > 0) throw new NotReadable();
      const capabilities = line
        .slice(nul + 1)
        .split(" ")
        .filter(Boolean);
      if (!capabilities.every((capability) => PLAIN_CAPABILITIES.test(capability))) throw new NotReadable();
      line = line.slice(0, nul);
    }
    const match = COMMAND.exec(line); // "shallow <id>", "push-cert…": not a command, not read here
    if (!match) throw new NotReadable();
    commands.push({ oldId: match[1] as string, newId: match[2] as string, ref: match[3] as string });
  }
  if (commands.length === 0) throw new NotReadable();
  return { commands, packStart: at + 4 };
}

interface PackEntry {
  offset: number;
  type: number;
  data: Buffer;
  baseOffset?: number;
  baseId?: string;
}

/**
 * The objects of a pack as git index-pack reads it from the wire: a header, that many entries
 * (each a zlib stream, deltas naming an earlier entry's offset or an object id), then the pack's
 * SHA-1, and nothing after it. Deltas are applied; a base named by id is looked for in the pack,
 * then in the repository (a thin pack). Returns the pack's own objects, not the bases it borrowed.
 */
function* readPackObjects(pack: Buffer, stored: RepositoryObjects, entryRead: (end: number) => void): Generator<void, StoredObject[]> {
  if (pack.length < 12 + HASH_BYTES || pack.toString("latin1", 0, 4) !== "PACK") throw new NotReadable();
  const version = pack.readUInt32BE(4);
  const count = pack.readUInt32BE(8);
  if ((version !== 2 && version !== 3) || count > MAX_ENTRIES) throw new NotReadable();
  const end = pack.length - HASH_BYTES;
  const budget = { left: MAX_INFLATED_BYTES };
  const entries = new Map<number, PackEntry>();
  let at = 12;
  for (let i = 0; i < count; i++) {
    const offset = at;
    if (at >= end) throw new NotReadable();
    let byte = pack[at++] as number;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    for (let shift = 4; byte & 0x80; shift += 7) {
      if (shift > 57 || at >= end) throw new NotReadable(); // git's reader stops at 9 bytes
      byte = pack[at++] as number;
      size += (byte & 0x7f) * 2 ** shift;
    }
    const entry: PackEntry = { offset, type, data: Buffer.alloc(0) };
    if (type === OFS_DELTA) {
      byte = pack[at++] as number;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        if (at >= end || back > offset) throw new NotReadable();
        byte = pack[at++] as number;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      entry.baseOffset = offset - back;
      // Only an entry already read can be a base: one that starts there.
      if (back === 0 || !entries.has(entry.baseOffset)) throw new NotReadable();
    } else if (type === REF_DELTA) {
      if (at + HASH_BYTES > end) throw new NotReadable();
      entry.baseId = pack.toString("hex", at, at + HASH_BYTES);
      at += HASH_BYTES;
    } else if (!(type in TYPES)) {
      throw new NotReadable();
    }
    if (size > budget.left || at >= end) throw new NotReadable();
    const inflated = inflateStream(pack, at, end, size);
    spend(budget, size);
    entry.data = inflated.data;
    at += inflated.used;
    entries.set(offset, entry);
    entryRead(at); // at most `end`: the input above stops before the body's last 20 bytes
    yield;
  }
  if (at !== end || !createHash("sha1").update(pack.subarray(0, end)).digest().equals(pack.subarray(end))) throw new NotReadable();
  return yield* resolveEntries([...entries.values()], stored, budget);
}

/**
 * Every entry's type and content, deltas applied, in time linear in the entries: a base by id
 * the repository has is read from it (same id, same content: a thin pack's bases), then
 * non-deltas, each result handed to the entries waiting on its offset or its id. Ids are
 * computed only while some entry waits on an id the repository does not have (SHA-1 of every
 * object is a good part of the check's cost); the scan needs no ids.
 */
function* resolveEntries(entries: PackEntry[], stored: RepositoryObjects, budget: { left: number }): Generator<void, StoredObject[]> {
  const resolved = new Map<number, StoredObject>();
  const onOffset = new Map<number, PackEntry[]>();
  const onId = new Map<string, PackEntry[]>();
  const ready: { entry: PackEntry; base?: Omit<StoredObject, "id"> }[] = [];
  const wait = <K>(map: Map<K, PackEntry[]>, key: K, entry: PackEntry) => {
    const list = map.get(key);
    if (list) list.push(entry);
    else map.set(key, [entry]);
  };
  for (const entry of entries) {
    if (entry.baseOffset !== undefined) wait(onOffset, entry.baseOffset, entry);
    else if (entry.baseId !== undefined) wait(onId, entry.baseId, entry);
    else ready.push({ entry });
  }
  const handOn = (key: { offset?: number; id: string }, base: Omit<StoredObject, "id">) => {
    for (const entry of (key.offset === undefined ? [] : onOffset.get(key.offset)) ?? []) ready.push({ entry, base });
    for (const entry of onId.get(key.id) ?? []) ready.push({ entry, base });
    onId.delete(key.id);
  };
  function* settleReady(): Generator<void> {
    for (let next = ready.pop(); next; next = ready.pop()) {
      const { entry, base } = next;
      const type = base ? base.type : TYPES[entry.type as keyof typeof TYPES];
      const content = base ? applyDelta(base.content, entry.data, budget) : entry.data;
      const object = { id: onId.size > 0 ? objectId(type, content) : "", type, content };
      resolved.set(entry.offset, object);
      handOn({ offset: entry.offset, id: object.id }, object);
      yield;
    }
  }
  for (const id of [...onId.keys()]) {
    const base = stored.find(id, budget);
    if (base) handOn({ id }, base);
  }
  yield* settleReady();
  // A base neither the pack nor the repository has: git would refuse the pack too.
  if (resolved.size !== entries.length) throw new NotReadable();
  return entries.map((entry) => resolved.get(entry.offset) as StoredObject);
}
