import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

export interface PushObjects {
  repositoryPath: string;
  /** git's quarantine folder for the push (GIT_QUARANTINE_PATH in the hook), where its new objects are. */
  quarantine: string | null;
  /** The new tips of the refs the push updates. */
  tips: string[];
}

/**
 * Where git may look: the repository, plus the push's quarantine only if it really is one of
 * this repository's (the hook reports the path; it is never taken on trust).
 */
export function gitEnvironmentFor(objects: PushObjects): NodeJS.ProcessEnv | null {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, GIT_DIR: objects.repositoryPath };
  if (objects.quarantine === null) return env;
  const store = path.join(objects.repositoryPath, "objects");
  const quarantine = path.resolve(objects.quarantine);
  // git names the quarantine from its working folder, with symlinks resolved (REPOS_DIR may be a
  // symlink, or under one): compare real paths.
  const realStore = realPath(store);
  if (!realStore || realPath(path.dirname(quarantine)) !== realStore || !path.basename(quarantine).startsWith("tmp_objdir-incoming-")) {
    return null;
  }
  return { ...env, GIT_OBJECT_DIRECTORY: quarantine, GIT_ALTERNATE_OBJECT_DIRECTORIES: store };
}

function realPath(folder: string): string | null {
  try {
    return fs.realpathSync(folder);
  } catch {
    return null;
  }
}

async function firstLine(args: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const { stdout } = await run("git", args, { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout.split("\n").filter((line) => line.length > 0);
}

/**
 * The first commit of the push that brings `secret` in, and where: a file's path (git's pickaxe
 * over the new commits), the commit message, the path of an object it was found in or a path
 * that holds it (a file named after the token), or — for a tag message or an object no commit names — the push's first tip. Only run for a live token, so its cost is off the common path.
 */
export async function locateSecret(objects: PushObjects, secret: string, objectIds: string[]): Promise<{ commit: string; path: string }> {
  const env = gitEnvironmentFor(objects);
  const tips = objects.tips.filter((tip) => OBJECT_ID.test(tip));
  const fallback = { commit: tips[0] ?? "unknown", path: "(an object of this push)" };
  if (!env || tips.length === 0) return fallback;
  const range = [...tips, "--not", "--all"];
  const changed = await firstLine(["log", "--reverse", "--no-renames", "--format=commit %H", "--name-only", `-S${secret}`, ...range], env);
  const commitLine = changed.findIndex((line) => line.startsWith("commit "));
  if (commitLine >= 0) {
    const file = changed[commitLine + 1];
    return { commit: changed[commitLine]!.slice(7), path: file && !file.startsWith("commit ") ? file : "(a file of this commit)" };
  }
  const messages = await firstLine(["log", "--reverse", "--format=%H", "-F", `--grep=${secret}`, ...range], env);
  if (messages[0]) return { commit: messages[0], path: "(commit message)" };
  // The first path whose new content is an object the token was found in (a UTF-16 file: git's
  // pickaxe searches bytes as given), or whose name holds it (the caller shows the hint only).
  const raw = await firstLine(["log", "--reverse", "--no-renames", "--raw", "--no-abbrev", "--format=commit %H", ...range], env);
  let commit = fallback.commit;
  for (const line of raw) {
    if (line.startsWith("commit ")) commit = line.slice(7);
    const [meta = "", file = ""] = line.split("\t");
    if (line.startsWith(":") && (objectIds.includes(meta.split(" ")[3] ?? "") || file.includes(secret))) return { commit, path: file };
  }
  return fallback;
}
