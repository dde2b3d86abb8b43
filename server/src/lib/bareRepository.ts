import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where `project/name` lives on disk. Names are validated before they get here. */
export const bareRepositoryPath = (reposDir: string, project: string, name: string): string => path.join(reposDir, project, `${name}.git`);

export class FolderExistsError extends Error {}

/**
 * Creates a bare repository in a folder that must not exist yet: a folder already there (left
 * by another instance's data, a restore, or a name differing only in case on a disk that
 * ignores case) is never adopted, or its history would be served under the new name.
 * If initialising fails half-way, the new folder is removed again.
 */
export async function initBareRepository(directory: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(directory), { recursive: true });
  } catch (error) {
    // A plain file where the project's folder (or one above it) should be: in the way, like a folder.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") throw new FolderExistsError(path.dirname(directory));
    throw error;
  }
  try {
    await fs.mkdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new FolderExistsError(directory);
    throw error;
  }
  try {
    await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", directory]);
    // Pushes are authorised by this service before git receive-pack ever runs (http.receivepack is
    // still what git http-backend asks for, behind an nginx in front of the same folder).
    await run("git", ["config", "--file", path.join(directory, "config"), "http.receivepack", "true"]);
  } catch (error) {
    await removeNewRepository(directory);
    throw error;
  }
}

/** Whether `directory` is a bare repository git can serve (a folder with a HEAD), not a plain file or nothing. */
export async function isBareRepositoryFolder(directory: string): Promise<boolean> {
  try {
    return (await fs.stat(directory)).isDirectory() && (await fs.stat(path.join(directory, "HEAD"))).isFile();
  } catch {
    return false;
  }
}

/** Removes a folder this service has just created (its creation was rolled back). */
export const removeNewRepository = (directory: string): Promise<void> => fs.rm(directory, { recursive: true, force: true });

/**
 * Deleting a repository through the API moves it aside instead of erasing it: an admin's
 * mistaken DELETE must not lose history. The trash folder name cannot clash with a project
 * because project names start with a letter or digit.
 */
export const trashPath = (reposDir: string, label: string): string =>
  path.join(reposDir, ".trash", `${label.replace("/", "__")}-${Date.now()}.git`);

export async function moveRepositoryToTrash(directory: string, target: string): Promise<string | null> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  try {
    await fs.rename(directory, target);
    return target;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
