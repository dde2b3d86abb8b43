import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

// An isolated HOME: no user or system config, no credential helper, never a prompt.
const home = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-git-home-"));
fs.writeFileSync(path.join(home, ".gitconfig"), "[user]\n\tname = Test\n\temail = test@clarive.test\n[init]\n\tdefaultBranch = main\n");

export const gitEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: home,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
  GIT_ASKPASS: "",
  SSH_ASKPASS: "",
  LANG: "C",
  ...extra,
});

/** Runs real git asynchronously (the service under test shares this process). */
export function git(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile("git", args, { cwd: options.cwd, env: gitEnv(options.env), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

export async function gitOk(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const result = await git(args, options);
  if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** `http://user:token@host/git/project/name.git` for a test server URL. */
export function remoteUrl(serverUrl: string, fullName: string, username?: string, token?: string): string {
  const url = new URL(`${serverUrl}/git/${fullName}.git`);
  if (username !== undefined) url.username = encodeURIComponent(username);
  if (token !== undefined) url.password = token;
  return url.toString();
}

export function tempDir(prefix = "clarive-wc-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A working copy with one commit, ready to push to `url`. */
export async function workingCopyWithCommit(url: string, file = "README", content = "hello\n"): Promise<string> {
  const dir = tempDir();
  await gitOk(["init", "-q", dir]);
  fs.writeFileSync(path.join(dir, file), content);
  await gitOk(["add", "."], { cwd: dir });
  await gitOk(["commit", "-qm", `add ${file}`], { cwd: dir });
  await gitOk(["remote", "add", "origin", url], { cwd: dir });
  return dir;
}

/** The commit a branch points at in a bare repository on disk, or null. */
export async function refOnDisk(bareDir: string, ref = "refs/heads/main"): Promise<string | null> {
  const result = await git(["--git-dir", bareDir, "rev-parse", "--verify", "-q", ref]);
  return result.code === 0 ? result.stdout.trim() : null;
}
