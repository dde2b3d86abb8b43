/**
 * A repository's own config (`git config --local`), written so a key holds exactly one value.
 * The vscode.git API's `Repository.setConfig` runs `git config --local --add`: a second call appends
 * a second value (a remote with two URLs, an sslCAInfo listed twice), so writes go through here.
 */
import { execFile } from "node:child_process";

export interface LocalGitConfig {
  /** Every value of the key in the repository's config, in order ([] when unset). */
  getAll(key: string): Promise<string[]>;
  /** Replaces all values of the key by this one. */
  set(key: string, value: string): Promise<void>;
  /** Adds one more value (a key listed several times on purpose, e.g. a rewritten second URL). */
  add(key: string, value: string): Promise<void>;
  /** Removes every value of the key; false when it had none. */
  unset(key: string): Promise<boolean>;
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runGit(gitPath: string, folder: string, args: string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(gitPath, args, { cwd: folder, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(new Error(`could not run git in ${folder}: ${error.message}`, { cause: error }));
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** `gitPath`: the git the vscode.git extension uses (its API's `git.path`), resolved when first needed. */
export function localGitConfig(folder: string, gitPath: () => Promise<string> | string = () => "git"): LocalGitConfig {
  const git = async (...args: string[]) => runGit(await gitPath(), folder, ["config", "--local", ...args]);
  const failed = (what: string, result: GitResult) =>
    new Error(`git config ${what} failed in ${folder}: ${result.stderr.trim() || `exit ${result.code}`}`);
  return {
    async getAll(key) {
      const result = await git("--get-all", key);
      if (result.code === 1) return []; // the key is not set
      if (result.code !== 0) throw failed(`--get-all ${key}`, result);
      return result.stdout.split("\n").filter((line) => line.length > 0);
    },
    async set(key, value) {
      const result = await git("--replace-all", key, value);
      if (result.code !== 0) throw failed(`--replace-all ${key}`, result);
    },
    async add(key, value) {
      const result = await git("--add", key, value);
      if (result.code !== 0) throw failed(`--add ${key}`, result);
    },
    async unset(key) {
      const result = await git("--unset-all", key);
      if (result.code === 5) return false; // nothing to unset
      if (result.code !== 0) throw failed(`--unset-all ${key}`, result);
      return true;
    },
  };
}
