import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where `project/name` lives on disk. Names are validated before they get here. */
export const bareRepositoryPath = (reposDir: string, project: string, name: string): string => path.join(reposDir, project, `${name}.git`);

/** Creates (or, for a folder already there, re-initialises without loss) a bare repository. */
export async function initBareRepository(directory: string): Promise<void> {
  await fs.mkdir(path.dirname(directory), { recursive: true });
  await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", directory]);
  // Pushes are authorised by this service before git http-backend ever runs.
  await run("git", ["config", "--file", path.join(directory, "config"), "http.receivepack", "true"]);
}

/**
 * Deleting a repository through the API moves it aside instead of erasing it: an admin's
 * mistaken DELETE must not lose history. The trash folder name cannot clash with a project
 * because project names start with a letter or digit.
 */
export async function moveRepositoryToTrash(reposDir: string, directory: string, label: string): Promise<string | null> {
  const trash = path.join(reposDir, ".trash");
  await fs.mkdir(trash, { recursive: true });
  const target = path.join(trash, `${label.replace("/", "__")}-${Date.now()}.git`);
  try {
    await fs.rename(directory, target);
    return target;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
