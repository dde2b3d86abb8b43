import type { IncomingMessage } from "node:http";
import type { GitProcessHost, GitRun, GitServiceCommand } from "./processHost";

// A small push's body read before git needs it, so that push protection can prove it clean while
// git starts, and git run without the hook for it (pushProtection/requestPack.ts).

/** How a push's request body can be proven clean before git needs push protection's hook (pushProtection/index.ts makes one). */
export interface BodyPrecheck {
  /** Request bodies up to this size are read whole before git starts (larger ones go to the hook). */
  maxBytes: number;
  /** git's environment for a body proven clean: no hook of push protection's (a notice's only). */
  env: Record<string, string>;
  /** Where the body's commands end, when the check can read them (pushCommandsEnd). */
  commandsEnd(body: Buffer): number | undefined;
  /**
   * Whether the whole body is proven to carry no token (isProvenClean, in slices; not proven once
   * `abandoned`); `readUpTo` hears how much of the body git may have meanwhile, never the pack's
   * trailer (PackReading).
   */
  isClean(body: Buffer, abandoned: () => boolean, readUpTo: (offset: number) => void): Promise<boolean>;
}

/** The client went away while its push was being prepared: nothing to answer. */
export class ClientGone extends Error {}

/**
 * Runs git for a push whose whole body is here, without push protection's hook, while the service
 * checks the same body. git gets the commands, then each part of the pack the check has read
 * (entries whole: PackReading), and unpacks them into its quarantine meanwhile; git moves no ref
 * before it has read the pack's SHA-1 trailer. Proven clean, git gets the rest. Otherwise git's
 * input ends short of the trailer (git refuses the cut pack and removes its quarantine: no ref can
 * move), and git runs again with the hook on the whole body, as for any push the check cannot read.
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
  let started: GitRun | undefined;
  let readUpTo = packStart; // the commands: git acts on none before the pack's end
  let sent = 0;
  const sendRead = () => {
    if (!started || readUpTo <= sent) return;
    started.stream.write(body.subarray(sent, readUpTo));
    sent = readUpTo;
  };
  // git starts (in the process host) while the pack is read here, in slices.
  const starting = host.run(command(precheck.env));
  const verdict = precheck.isClean(body, clientGone, (offset) => {
    readUpTo = offset; // only ever grows
    sendRead();
  });
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
  started = first;
  sendRead();
  if (await verdict) {
    first.stream.write(body.subarray(sent));
    return first;
  }
  started = undefined; // its input ends below: nothing more is written to it
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
