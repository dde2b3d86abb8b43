// The git process host: a deliberately tiny process that starts `git http-backend` for the
// service. Plain JavaScript run without any loader, so that it stays small: forking from a
// process costs time in proportion to its memory (measured here: ~2 ms per spawn from a
// 50 MB process, ~19 ms from a 250 MB one), and the service itself is large.
//
// Protocol, one Unix-socket connection per git request:
//   service → host: one JSON line {"id","env"}, then the request body, then end of stream
//   host → service: git's CGI output, then end of stream
//   host → service (IPC): {"id","code","stderr"} once git has exited
// Closing the connection early (client gone) kills git.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const socketPath = process.argv[2];
const MAX_HEADER = 256 * 1024;

// `git http-backend` is the git wrapper exec'ing git-http-backend: two program starts per
// request. Started directly (as nginx + fcgiwrap do) it saves ~2 ms on every git request.
function resolveBackend() {
  try {
    const execPath = execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim();
    const direct = path.join(execPath, "git-http-backend");
    fs.accessSync(direct, fs.constants.X_OK);
    return { file: direct, args: [] };
  } catch {
    return { file: "git", args: ["http-backend"] };
  }
}
const backend = resolveBackend();

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
    socket.pause();
    const { id, env } = JSON.parse(buffered.subarray(0, newline).toString("utf8"));
    start(socket, id, env, buffered.subarray(newline + 1));
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
});

function start(socket, id, env, firstBodyBytes) {
  const child = spawn(backend.file, backend.args, { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let outputDone = false;
  child.stderr.on("data", (chunk) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  child.stdin.on("error", () => undefined); // git may stop reading early, e.g. on a bad pack
  child.on("error", (error) => {
    stderr += String(error);
    socket.destroy();
  });
  child.on("close", (code) => process.send?.({ id, code, stderr }));
  child.stdout.on("end", () => {
    outputDone = true;
  });
  // Closed before git's output was all sent: the client is gone, so is the point of running git.
  socket.on("close", () => {
    if (!outputDone) child.kill("SIGKILL");
  });
  if (firstBodyBytes.length > 0) child.stdin.write(firstBodyBytes);
  socket.pipe(child.stdin);
  child.stdout.pipe(socket);
  socket.resume();
}

server.listen(socketPath, () => process.send?.({ ready: true }));
// The host lives exactly as long as the service: when the IPC channel closes, so does it.
process.on("disconnect", () => process.exit(0));
