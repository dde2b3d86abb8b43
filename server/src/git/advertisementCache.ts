import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** git's protocol-v2 capability advertisement is a few hundred bytes; anything longer is not kept. */
export const MAX_ADVERTISEMENT_BYTES = 4096;
const MAX_REPOSITORIES = 10_000;
/** Where git reads its system configuration (the git programs the service runs have no HOME, so no global one). */
const SYSTEM_CONFIG = "/etc/gitconfig";
/** A pkt-line flush: the last four bytes of every whole answer of git's. */
export const FLUSH = Buffer.from("0000");
/** `[include]` or `[includeIf …]` (section names are case-insensitive): configuration read from files not stamped here. */
const INCLUDE_SECTION = /^\s*\[\s*include/im;

/**
 * The answer of `git upload-pack --http-backend-info-refs` for protocol v2, per repository.
 * Under v2 it lists no refs, only capabilities, which depend on nothing but git itself and its
 * configuration (the repository's `config`, the system's), so every clone and fetch would start
 * a git program to print the same bytes. Kept while those files are unchanged: each lookup
 * compares their identity (inode, size, modification and change times; git rewrites a config
 * file by renaming a new one over it), and the upload-pack program's, so an upgraded git is asked
 * again. Never kept for a configuration that includes other files (configurationStamp).
 */
export class AdvertisementCache {
  private readonly entries = new Map<string, { stamp: string; bytes: Buffer }>();

  /** `program`: the upload-pack program git runs (uploadPackProgram()). */
  constructor(private readonly program: string) {}

  /** The cached advertisement for this repository and Git-Protocol value, or the stamp to store a fresh one under. */
  lookup(directory: string, protocol: string): { bytes: Buffer } | { stamp: string } | undefined {
    const stamp = this.stampOf(directory);
    if (stamp === undefined) return undefined; // a file that cannot be read: let git answer
    const entry = this.entries.get(`${protocol}\n${directory}`);
    return entry?.stamp === stamp ? { bytes: entry.bytes } : { stamp };
  }

  /** What git printed (exit 0, whole): kept for the next request with the same stamp. */
  store(directory: string, protocol: string, stamp: string, bytes: Buffer): void {
    if (!bytes.subarray(-4).equals(FLUSH)) return; // not a whole advertisement
    // A session id (transfer.advertiseSID) differs per git process: such answers are not shared.
    if (bytes.length > MAX_ADVERTISEMENT_BYTES || bytes.includes("session-id=")) return;
    if (this.entries.size >= MAX_REPOSITORIES) this.entries.clear();
    this.entries.set(`${protocol}\n${directory}`, { stamp, bytes });
  }

  private stampOf(directory: string): string | undefined {
    try {
      return configurationStamp(directory, this.program)?.stamp;
    } catch {
      return undefined; // unreadable (EACCES, a folder gone): git answers, and nothing is kept
    }
  }
}

/**
 * The identity of what git's configuration for a repository is read from (its `config`, the
 * system's, the upload-pack program): undefined when the repository's config or git is missing,
 * or when a configuration file includes others (`[include]`, `[includeIf]`), whose changes this
 * would not see. `newestMs` is the latest modification or change time among them. Throws when a
 * file cannot be read.
 */
export function configurationStamp(directory: string, program: string): { stamp: string; newestMs: number } | undefined {
  const parts: string[] = [];
  let newestMs = 0;
  for (const file of [path.join(directory, "config"), SYSTEM_CONFIG, program]) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    // The system file may rightly be absent; the repository's config and git itself may not.
    if (!stat) {
      if (file === SYSTEM_CONFIG) parts.push("-");
      else return undefined;
      continue;
    }
    // ctime too: a same-size edit whose mtime is put back (touch -r, rsync -t) still changes it.
    const part = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
    if (file !== program && includesOthers(file, part)) return undefined;
    parts.push(part);
    newestMs = Math.max(newestMs, stat.mtimeMs, stat.ctimeMs);
  }
  return { stamp: parts.join(" "), newestMs };
}

const MAX_REMEMBERED_FILES = 10_000;
/** Whether a configuration file includes others, by file and stamp: read again only once it changed. */
const includeVerdicts = new Map<string, boolean>();

function includesOthers(file: string, part: string): boolean {
  const key = `${file}\n${part}`;
  let verdict = includeVerdicts.get(key);
  if (verdict === undefined) {
    verdict = INCLUDE_SECTION.test(fs.readFileSync(file, "utf8"));
    if (includeVerdicts.size >= MAX_REMEMBERED_FILES) includeVerdicts.clear();
    includeVerdicts.set(key, verdict);
  }
  return verdict;
}

/** The upload-pack program git runs (as the process host resolves it), or the git wrapper. */
export function uploadPackProgram(): string {
  try {
    const execPath = execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim();
    const direct = path.join(execPath, "git-upload-pack");
    fs.accessSync(direct, fs.constants.X_OK);
    return direct;
  } catch {
    return "/usr/bin/git";
  }
}
