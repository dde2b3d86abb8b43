import fs from "node:fs/promises";
import path from "node:path";

/**
 * What a git process killed mid-push leaves in a bare repository:
 * - `objects/tmp_objdir-incoming-*`: the quarantine receive-pack writes a push's objects to
 *   before its refs move. Never referenced, but as large as the push, and never removed by git.
 * - `*.lock` files (`refs/heads/main.lock`, `packed-refs.lock`, `HEAD.lock`, `config.lock`…):
 *   git holds them for milliseconds while it updates the file beside them; one left behind makes
 *   every later update of that file fail ("Unable to create '….lock': File exists").
 * Only files untouched for the given ages are removed: another instance sharing the folder may
 * be receiving a push right now (a live quarantine keeps being written, or waits in a hook).
 */
export interface StaleAges {
  quarantineMs: number;
  lockMs: number;
}

/** For a folder no other process can be using (one instance, at start): everything. */
export const ALL_STALE: StaleAges = { quarantineMs: 0, lockMs: 0 };
/** For a folder other instances may be using: well past any push's or ref update's life. */
export const SHARED_STALE: StaleAges = { quarantineMs: 60 * 60_000, lockMs: 10 * 60_000 };

export interface StaleFilesRemoved {
  quarantines: string[];
  locks: string[];
}

const QUARANTINE = /^tmp_objdir-incoming-/;
/** Lock files git takes outside refs/: the repository's own files and object-store indexes. */
const LOCK_FOLDERS = ["", "objects/info", "objects/info/commit-graphs", "objects/pack"];

/** Removes stale quarantines and lock files from every `REPOS_DIR/<project>/<name>.git`. */
export async function removeStaleGitFiles(reposDir: string, ages: StaleAges, now = Date.now()): Promise<StaleFilesRemoved> {
  const removed: StaleFilesRemoved = { quarantines: [], locks: [] };
  for (const project of await folders(reposDir)) {
    // .trash and other dot-folders hold no served repository.
    if (project.startsWith(".")) continue;
    for (const name of await folders(path.join(reposDir, project))) {
      if (name.endsWith(".git")) await cleanRepository(path.join(reposDir, project, name), ages, now, removed);
    }
  }
  return removed;
}

async function cleanRepository(repository: string, ages: StaleAges, now: number, removed: StaleFilesRemoved): Promise<void> {
  const objects = path.join(repository, "objects");
  for (const entry of await folders(objects)) {
    if (!QUARANTINE.test(entry)) continue;
    const quarantine = path.join(objects, entry);
    if (now - (await newestChange(quarantine)) < ages.quarantineMs) continue;
    await fs.rm(quarantine, { recursive: true, force: true });
    removed.quarantines.push(quarantine);
  }
  const lockFiles = [...(await locksUnder(path.join(repository, "refs")))];
  for (const folder of LOCK_FOLDERS) {
    for (const entry of await entries(path.join(repository, folder))) {
      if (entry.isFile() && entry.name.endsWith(".lock")) lockFiles.push(path.join(repository, folder, entry.name));
    }
  }
  for (const lock of lockFiles) {
    const stat = await fs.stat(lock).catch(() => undefined);
    if (!stat || now - stat.mtimeMs < ages.lockMs) continue;
    await fs.rm(lock, { force: true });
    removed.locks.push(lock);
  }
}

async function locksUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await entries(folder)) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await locksUnder(full)));
    else if (entry.isFile() && entry.name.endsWith(".lock")) found.push(full);
  }
  return found;
}

/** The latest modification time of a folder or anything in it (a live push keeps writing). */
async function newestChange(target: string): Promise<number> {
  const stat = await fs.lstat(target).catch(() => undefined);
  if (!stat) return 0;
  let newest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const entry of await entries(target)) newest = Math.max(newest, await newestChange(path.join(target, entry.name)));
  }
  return newest;
}

const entries = (folder: string) => fs.readdir(folder, { withFileTypes: true }).catch(() => []);

const folders = async (folder: string): Promise<string[]> =>
  (await entries(folder)).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
