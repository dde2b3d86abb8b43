import type { IncomingMessage } from "node:http";
import type { GitProcessHost, GitRun, GitServiceCommand } from "./processHost";

// A small push's body read before git needs it, so that push protection can prove it clean while
// git starts, and git run without the hook for it (pushProtection/requestPack.ts).

/** See PushPrecheck (pushProtection): what serveGit needs of it. */
export interface BodyPrecheck {
  /** Request bodies up to this size are read whole before git starts. */
  maxBytes: number;
  env: Record<string, string>;
  commandsEnd(body: Buffer): number | undefined;
  isClean(body: Buffer, abandoned: () => boolean): Promise<boolean>;
}

/** A pack ends with the SHA-1 of what precedes it; git acts on no command before it has checked it. */
const PACK_TRAILER_BYTES = 20;

/** The client went away while its push was being prepared: nothing to answer. */
export class ClientGone extends Error {}

/**
 * Runs git for a push whose whole body is here, without push protection's hook: git gets all of
 * the body but the pack's last bytes (its SHA-1 trailer) and unpacks the objects into its
 * quarantine while the service checks the same body. git moves no ref before it has read the
 * trailer and found it matching: proven clean, git gets the trailer. Otherwise git's input ends
 * short of it (git refuses the cut pack and removes its quarantine: no ref can move), and git runs
 * again with the hook on the whole body, as for any push the check cannot read.
 */
export async function runChecked(
  host: GitProcessHost,
  /** git's command with these variables for its hook (the precheck's, or push protection's hook). */
  command: (hookEnv?: Record<string, string>) => GitServiceCommand,
  body: Buffer,
  precheck: BodyPrecheck,
  clientGone: () => boolean,
): Promise<GitRun> {
  const withHook = async () => {
    const run = await host.run(command());
    run.stream.write(body);
    return run;
  };
  const packStart = precheck.commandsEnd(body);
  if (packStart === undefined) return withHook();
  // git starts (in the process host) while the pack is read here, in slices.
  const starting = host.run(command(precheck.env));
  const verdict = precheck.isClean(body, clientGone);
  let first: GitRun;
  try {
    first = await starting;
  } catch (error) {
    await verdict;
    throw error;
  }
  if (clientGone()) {
    first.kill();
    first.stream.destroy();
    throw new ClientGone();
  }
  // Held back: the pack's trailer (a body with no pack, deletions only, has nothing to hold).
  const heldBack = Math.max(packStart, body.length - PACK_TRAILER_BYTES);
  first.stream.write(body.subarray(0, heldBack));
  if (await verdict) {
    first.stream.write(body.subarray(heldBack));
    return first;
  }
  first.stream.resume(); // its answer (an unpack error) is nobody's
  first.stream.end();
  await first.exited;
  first.stream.destroy();
  if (clientGone()) throw new ClientGone();
  return withHook();
}

/** A request body, whole; undefined if the client went away before its end. */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const finish = (body: Buffer | undefined) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      resolve(body);
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    const onClose = () => finish(undefined); // closed before its end: the client went away
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("close", onClose);
  });
}
