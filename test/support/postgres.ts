import { execFile, execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import knexFactory from "knex";

/** A throwaway Postgres cluster in a temporary folder, on a loopback port. */
export interface PostgresCluster {
  /** Superuser URL to the `postgres` database. */
  adminUrl: string;
  port: number;
  /**
   * Stops the server as a crash would (`pg_ctl stop -m immediate`: connections cut, no
   * checkpoint), keeping its data for resume(). Asynchronous, so services in this process go on
   * serving meanwhile.
   */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data after crash(); resolves once it accepts connections. */
  resume(): Promise<void>;
  /**
   * SIGSTOP to the server and all its processes: connections stay open and new ones are taken
   * by the kernel, but nothing answers (a hung server, or a network path that drops packets).
   */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  stop(): void;
}

function findBinDir(): string {
  for (const dir of fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").sort().reverse() : []) {
    const bin = path.join("/usr/lib/postgresql", dir, "bin");
    if (fs.existsSync(path.join(bin, "initdb"))) return bin;
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return path.dirname(fs.realpathSync(which.stdout.trim()));
  throw new Error("Postgres server binaries (initdb, pg_ctl) not found: install postgresql (apt-get install postgresql)");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-pg-"));
  const dataDir = path.join(dir, "data");
  const port = await freePort();
  // Postgres refuses to run as root; CI runs as root, so the cluster belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const command = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
  const run = (cmd: string, args: string[]) => execFileSync(...command(cmd, args), { stdio: "pipe" });
  const runAsync = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile(...command(cmd, args), (error, _stdout, stderr) =>
        error ? reject(new Error(`${cmd} ${args.join(" ")}: ${error.message} ${stderr}`)) : resolve(),
      ),
    );
  run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const startArgs = [
    "-D",
    dataDir,
    "-l",
    path.join(dir, "postgres.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "-w",
    "start",
  ];
  run("pg_ctl", startArgs);
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    crash: () => runAsync("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]),
    resume: () => runAsync("pg_ctl", startArgs),
    freeze: () => serverProcesses(dataDir).forEach((pid) => process.kill(pid, "SIGSTOP")),
    thaw: () => serverProcesses(dataDir).forEach((pid) => process.kill(pid, "SIGCONT")),
    stop: () => {
      try {
        run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Creates database `name` on the cluster behind `adminUrl`; returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = knexFactory({ client: "pg", connection: adminUrl });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The postmaster of the cluster in `dataDir` and its children (each in a session of its own, so no group to signal). */
function serverProcesses(dataDir: string): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // /proc/<pid>/stat: "pid (name) state ppid …"; the name may hold spaces, not ")".
        return fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ")[1] === String(postmaster);
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}
