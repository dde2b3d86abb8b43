import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const EXAMPLE_CONFIG = path.resolve("examples/nginx/clarive-git.conf");

export interface NginxFront {
  url: string;
  stop(): Promise<void>;
}

function findBinary(name: string, candidates: string[]): string {
  for (const candidate of candidates) if (fs.existsSync(candidate)) return candidate;
  const which = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(`${name} not found: apt-get install nginx fcgiwrap (.ci/run does)`);
}

async function waitForSocket(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

const canConnect = (options: net.NetConnectOpts) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(options, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

/**
 * Starts fcgiwrap and nginx (each process is ours and is stopped by pid) with a server block,
 * in a temporary prefix. `serverBlock(socketPath)` returns the server {} configuration; `port`
 * is the one waited for (nginx opens every listening socket before it accepts on any) and named
 * in `url`, with `scheme` (https when that port terminates TLS).
 */
export async function startNginx(
  port: number,
  serverBlock: (fcgiwrapSocket: string) => string,
  options: { scheme?: "http" | "https" } = {},
): Promise<NginxFront> {
  const nginx = findBinary("nginx", ["/usr/sbin/nginx"]);
  const fcgiwrap = findBinary("fcgiwrap", ["/usr/sbin/fcgiwrap"]);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-nginx-"));
  const socket = path.join(prefix, "fcgiwrap.sock");
  const children: ChildProcess[] = [];
  // Own process groups: fcgiwrap -c forks workers, and stopping must reach them all.
  children.push(spawn(fcgiwrap, ["-c", "4", "-s", `unix:${socket}`], { stdio: "ignore", detached: true }));
  await waitForSocket(() => canConnect({ path: socket }), "fcgiwrap");
  // Relative includes (fastcgi_params, as in the example) resolve against the prefix.
  for (const file of ["fastcgi_params", "mime.types"]) fs.copyFileSync(path.join("/etc/nginx", file), path.join(prefix, file));
  const asRoot = process.getuid?.() === 0;
  fs.writeFileSync(
    path.join(prefix, "nginx.conf"),
    `${asRoot ? "user root;\n" : ""}worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  include mime.types;
  ${serverBlock(socket)}
}
`,
  );
  const child = spawn(nginx, ["-p", prefix, "-c", path.join(prefix, "nginx.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  children.push(child);
  try {
    await waitForSocket(() => canConnect({ port, host: "127.0.0.1" }), "nginx");
  } catch (error) {
    for (const c of children) killGroup(c, "SIGKILL");
    const log = fs.existsSync(path.join(prefix, "error.log")) ? fs.readFileSync(path.join(prefix, "error.log"), "utf8") : "";
    throw new Error(`${(error as Error).message}: ${stderr} ${log}`, { cause: error });
  }
  return {
    url: `${options.scheme ?? "http"}://127.0.0.1:${port}`,
    stop: async () => {
      for (const c of children.reverse()) {
        const exited = new Promise((r) => c.once("exit", r));
        killGroup(c, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        killGroup(c, "SIGKILL"); // the workers, whatever the leader did
      }
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

export interface ExampleValues {
  /** Block 1 (git http-backend behind the auth hook), TLS. */
  gitPort: number;
  /** Block 2 (the service proxied), TLS. */
  servicePort: number;
  /** Block 3 (plain HTTP: redirects browsers, refuses git and the API). */
  httpPort: number;
  clarivePort: number;
  reposDir: string;
  socket: string;
  /** PEM: the server certificate (with any intermediates) and its key. */
  certificate: string;
  key: string;
}

/**
 * The shipped example, with its documented assumptions (ports, folders, socket, certificate)
 * replaced by this run's. Each assumption must occur exactly as often as the example uses it,
 * so the example cannot drift from the test.
 */
export function renderExample(values: ExampleValues): string {
  // Comments first: the header names every placeholder once more.
  let text = fs.readFileSync(EXAMPLE_CONFIG, "utf8").replace(/^\s*#.*$/gm, "");
  const replacements: [from: string, to: string, times: number][] = [
    ["listen 443 ssl;\n    server_name git.example.com;", `listen 127.0.0.1:${values.gitPort} ssl;`, 1],
    ["listen 443 ssl;\n    server_name clarive.example.com;", `listen 127.0.0.1:${values.servicePort} ssl;`, 1],
    ["listen 80;\n    server_name git.example.com clarive.example.com;", `listen 127.0.0.1:${values.httpPort};`, 1],
    ["ssl_certificate /etc/ssl/clarive/fullchain.pem;", `ssl_certificate ${values.certificate};`, 2],
    ["ssl_certificate_key /etc/ssl/clarive/privkey.pem;", `ssl_certificate_key ${values.key};`, 2],
    ["http://127.0.0.1:8080/api/v1/git/auth;", `http://127.0.0.1:${values.clarivePort}/api/v1/git/auth;`, 1],
    ["proxy_pass http://127.0.0.1:8080;", `proxy_pass http://127.0.0.1:${values.clarivePort};`, 1],
    ["GIT_PROJECT_ROOT /srv/git;", `GIT_PROJECT_ROOT ${values.reposDir};`, 1],
    ["unix:/run/fcgiwrap.socket;", `unix:${values.socket};`, 1],
  ];
  for (const [from, to, times] of replacements) {
    const found = text.split(from).length - 1;
    if (found !== times) throw new Error(`examples/nginx/clarive-git.conf contains "${from}" ${found} times, not ${times}`);
    text = text.replaceAll(from, to);
  }
  // Whatever the test did not replace must not point at this machine's real folders or ports.
  for (const leftover of ["/etc/ssl/", "/srv/git", "/run/fcgiwrap", "example.com", "listen 443", "listen 80;"]) {
    if (text.includes(leftover)) throw new Error(`examples/nginx/clarive-git.conf: "${leftover}" left after rendering`);
  }
  return text;
}
