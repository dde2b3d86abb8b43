// The git process host: a deliberately tiny process that starts `git upload-pack` and
// `git receive-pack` (stateless RPC, as git http-backend would) for the service. Plain
// JavaScript run without any loader, so that it stays small: forking from a
// process costs time in proportion to its memory (measured here: ~2 ms per spawn from a
// 50 MB process, ~19 ms from a 250 MB one), and the service itself is large.
//
// Protocol, one Unix-socket connection per git request:
//   service → host: one JSON line {"id","command":{"service","advertise","directory","env"}},
//                   and nothing more until git has started
//   host: starts git with the connection itself as its stdin and stdout, so the request body
//         and git's answer flow between the service and git with no copy in this
//         process; it closes its own end at once, so the stream ends when git exits
//   host → service (IPC): {"id","started"} once git has the connection (the service then
//                         sends the body), {"id","code","stderr"} once git has exited
//   service → host (IPC): {"kill": id} when the client has gone away
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const socketPath = process.argv[2];
const MAX_HEADER = 256 * 1024;
const running = new Map();

// `git upload-pack` is the git wrapper exec'ing git-upload-pack: two program starts per
// request. Started directly from git's exec path it is one.
function resolveProgram(service) {
  try {
    const execPath = execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim();
    const direct = path.join(execPath, `git-${service}`);
    fs.accessSync(direct, fs.constants.X_OK);
    return { file: direct, args: [] };
  } catch {
    return { file: "git", args: [service] };
  }
}
const programs = new Map([
  ["upload-pack", resolveProgram("upload-pack")],
  ["receive-pack", resolveProgram("receive-pack")],
]);

/**
 * The program and arguments for a command from the service: the two services, the listing
 * of a push's quarantined objects for push protection, and a push's housekeeping (forked from
 * this small process rather than from the service, for the same reason as git's own programs);
 * nothing else.
 */
function commandLine(command) {
  if (command?.service === "quarantined-objects") {
    const { directory, quarantine } = command;
    if (typeof directory !== "string" || !path.isAbsolute(directory) || typeof quarantine !== "string" || !path.isAbsolute(quarantine)) {
      return undefined;
    }
    // The quarantine alone: GIT_OBJECT_DIRECTORY without the repository's store as an alternate.
    const env = { PATH: command.env?.PATH ?? process.env.PATH, GIT_DIR: directory, GIT_OBJECT_DIRECTORY: quarantine };
    return { file: "git", args: ["cat-file", "--batch", "--batch-all-objects", "--unordered"], env };
  }
  if (command?.service === "autogc-setting" || command?.service === "gc-auto") {
    if (typeof command.directory !== "string" || !path.isAbsolute(command.directory)) return undefined;
    const env = { PATH: command.env?.PATH ?? process.env.PATH, GIT_DIR: command.directory };
    const args =
      command.service === "gc-auto" ? ["gc", "--auto", "--quiet"] : ["config", "--type=bool", "--default=true", "--get", "receive.autogc"];
    return { file: "git", args, env };
  }
  const program = programs.get(command?.service);
  if (!program || typeof command.directory !== "string" || !path.isAbsolute(command.directory)) return undefined;
  const args = [...program.args, "--stateless-rpc", ...(command.advertise === true ? ["--http-backend-info-refs"] : [])];
  // "--": the directory is never read as an option.
  return { file: program.file, args: [...args, "--", command.directory], env: command.env };
}

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  let buffered = Buffer.alloc(0);
  const onData = (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    const newline = buffered.indexOf(10);
    if (newline < 0) {
      if (buffered.length > MAX_HEADER) socket.destroy();
      return;
    }
    socket.off("data", onData);
    if (newline !== buffered.length - 1) {
      socket.destroy(); // body bytes before git started: a protocol error
      return;
    }
    const { id, command } = JSON.parse(buffered.subarray(0, newline).toString("utf8"));
    // Synchronously, before this process reads any more: spawn() stops reading the
    // connection, whose bytes are git's from here on.
    start(socket, id, commandLine(command));
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
});

function start(socket, id, line) {
  let child;
  try {
    if (!line) throw new Error("not a git command this host runs");
    // libuv keeps sockets non-blocking; git expects a blocking stdin (it would spin on a short
    // read). This process never reads or writes the connection again.
    socket._handle.setBlocking(true);
    // In the service's process group (not detached): whatever kills the whole group (a crash
    // handler, SIGKILL after a stop timeout) must take git with it, or it is left spinning.
    child = spawn(line.file, line.args, { env: line.env, stdio: [socket, socket, "pipe"] });
  } catch (error) {
    socket.destroy();
    process.send?.({ id, code: null, stderr: String(error) });
    return;
  }
  // git holds its own copies of the connection now. Closing ours at once keeps this process
  // from ever reading git's input (a stream restarts reading on its own); the connection ends
  // when git, and what git started, have exited.
  socket.destroy();
  running.set(id, child);
  process.send?.({ id, started: true });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  child.on("error", (error) => {
    stderr += String(error);
  });
  child.on("close", (code) => {
    running.delete(id);
    process.send?.({ id, code, stderr });
  });
}

process.on("message", (message) => {
  if (message && typeof message.kill === "number") running.get(message.kill)?.kill("SIGKILL");
});

server.listen(socketPath, () => process.send?.({ ready: true }));
// The host lives exactly as long as the service: when the IPC channel closes, so does it.
// A stop signal is the service's to handle: it drains running clones and pushes first, then
// disconnects, which ends this host. (Sent to the whole group, as Ctrl-C does, it still stops
// git itself: signal the service's process only, systemd KillMode=mixed.)
process.on("SIGTERM", () => undefined);
process.on("SIGINT", () => undefined);
process.on("disconnect", () => {
  for (const child of running.values()) child.kill("SIGKILL");
  process.exit(0);
});
