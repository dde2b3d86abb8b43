import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { redactSecrets } from "@clarive/shared";
import type { Logger } from "pino";
import type { GitRequestTarget } from "./gitPath";
import { MAX_ADVERTISEMENT_BYTES, type AdvertisementCache } from "./advertisementCache";
import { withGitConfig } from "./gitConfigEnv";
import { type Housekeeping, RECEIVE_PACK_WITHOUT_AUTOGC } from "./housekeeping";
import type { GitProcessHost, GitRun, GitServiceCommand } from "./processHost";
import { type BodyPrecheck, ClientGone, readBody, runChecked } from "./checkedPush";
import { answerFromMemory, collectAnswer, setNoCacheHeaders } from "./keptAnswers";
import { isRefListRequest, MAX_REF_LIST_BYTES, MAX_REF_LIST_REQUEST_BYTES, type RefListCache } from "./refListCache";

export interface BackendRequest {
  req: IncomingMessage;
  res: ServerResponse;
  reposDir: string;
  target: GitRequestTarget;
  remoteUser: string;
  remoteAddr: string;
  host: GitProcessHost;
  logger: Logger;
  /** Set by the service itself (push protection's hook), never from the request. */
  hookEnv?: Record<string, string> | undefined;
  /** A push's body that may be proven clean while git starts, so that git needs no hook (push protection). */
  precheck?: BodyPrecheck | undefined;
  /** Told the request body's bytes and git's output bytes once the response is over (GET /metrics). */
  onTraffic?: ((received: number, sent: number) => void) | undefined;
  /** Protocol v2's capability advertisement, kept per repository (see AdvertisementCache). */
  advertisements?: AdvertisementCache | undefined;
  /** Protocol v2's ls-refs answers, kept per repository while its refs are unchanged (see RefListCache). */
  refLists?: RefListCache | undefined;
  /** git's `gc --auto` after a push, once it is answered (without it, receive-pack runs it before its answer ends). */
  housekeeping?: Housekeeping | undefined;
}

// Git-Protocol is passed to git as GIT_PROTOCOL; only the documented key=value[:key=value] shape.
const GIT_PROTOCOL = /^[A-Za-z0-9._-]+(=[A-Za-z0-9._-]*)?(:[A-Za-z0-9._-]+(=[A-Za-z0-9._-]*)?)*$/;

/** The validated Git-Protocol header, or undefined. */
function gitProtocol(req: IncomingMessage): string | undefined {
  const protocol = req.headers["git-protocol"];
  return typeof protocol === "string" && protocol.length <= 256 && GIT_PROTOCOL.test(protocol) ? protocol : undefined;
}

/** The highest `version=N` the client offers, as git's determine_protocol_version_server reads it. */
function protocolVersion(protocol: string | undefined): number {
  let version = 0;
  for (const item of protocol?.split(":") ?? []) {
    const match = /^version=([0-2])$/.exec(item);
    if (match && Number(match[1]) > version) version = Number(match[1]);
  }
  return version;
}

/** A pkt-line: four hex digits of length (their own included), then the payload. */
const pktLine = (payload: string) => `${(payload.length + 4).toString(16).padStart(4, "0")}${payload}`;

/**
 * What git http-backend would run, and the environment it would give it, built from validated
 * values only: never from client header names, so a client cannot smuggle variables such as
 * GIT_CONFIG_* into git.
 */
function gitCommand(r: BackendRequest, protocol: string | undefined, extraEnv = r.hookEnv): GitServiceCommand {
  const { target } = r;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REMOTE_USER: r.remoteUser,
    REMOTE_ADDR: r.remoteAddr,
    // As http-backend sets them: the pusher in reflogs.
    GIT_COMMITTER_NAME: r.remoteUser,
    GIT_COMMITTER_EMAIL: `${r.remoteUser}@http.${r.remoteAddr || "(none)"}`,
  };
  if (protocol) env.GIT_PROTOCOL = protocol;
  const service = target.service === "git-upload-pack" ? "upload-pack" : "receive-pack";
  const advertise = target.endpoint === "info/refs";
  const push = service === "receive-pack" && !advertise;
  return {
    service,
    advertise,
    directory: path.join(r.reposDir, target.project, `${target.repository}.git`),
    env: push && r.housekeeping ? withGitConfig({ ...env, ...extraEnv }, RECEIVE_PACK_WITHOUT_AUTOGC) : { ...env, ...extraEnv },
  };
}

/**
 * Serves one authorised request the way git http-backend does, without it: git upload-pack or
 * receive-pack runs directly in stateless-RPC mode (one program start per request instead of
 * two or three), this process writes http-backend's headers and, for the advertisement of
 * protocols 0 and 1, its "# service=…" line, and inflates a gzip request body itself. The
 * request body streams into git and git's answer out with backpressure (pipe); git is stopped
 * when the client goes away. Resolves when the response is over.
 */
export async function serveGit(r: BackendRequest): Promise<void> {
  const { req, res, logger, target } = r;
  // A client gone while we authenticated or connected has already fired 'close': check, or git
  // would run with nobody to stop it.
  // (A request whose body has been read whole is destroyed: from then on the response tells.)
  let bodyRead = false;
  const clientGone = () => res.destroyed || (!bodyRead && req.destroyed);
  if (clientGone()) return;
  const protocol = gitProtocol(req);
  const command = gitCommand(r, protocol);
  // Protocol v2's advertisement lists capabilities only: the same bytes until git's configuration changes.
  const v2Advertisement = command.advertise && command.service === "upload-pack" && protocolVersion(protocol) === 2;
  const cached = v2Advertisement && protocol ? r.advertisements?.lookup(command.directory, protocol) : undefined;
  if (cached && "bytes" in cached) {
    req.resume();
    return answerFromMemory({
      res,
      service: target.service,
      kind: "advertisement",
      bytes: cached.bytes,
      onTraffic: r.onTraffic,
      received: 0,
    });
  }
  const encoding = req.headers["content-encoding"];
  // A body read whole before git starts: a small push's (perhaps git needs no hook for it), or a
  // protocol-v2 upload-pack request's (perhaps a list of refs already kept).
  let body: Buffer | undefined;
  let received = 0;
  // git declares the length of a body that fits its http.postBuffer (1 MiB by default) and streams a
  // larger one chunked: only a declared small body is waited for, a large one reaches git at once.
  const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  if (r.precheck && !command.advertise && encoding === undefined && declared !== undefined && declared <= r.precheck.maxBytes) {
    body = await readBody(req); // no more than declared: Node's parser holds the client to it
    bodyRead = body !== undefined;
    if (!body || clientGone()) return;
    received = body.length;
  }
  // A fetch's or a clone's list of refs: perhaps what git answered last time, unchanged since.
  let refListStamp: string | undefined;
  if (
    r.refLists &&
    !r.precheck &&
    protocol &&
    protocolVersion(protocol) === 2 &&
    command.service === "upload-pack" &&
    !command.advertise &&
    encoding === undefined &&
    declared !== undefined &&
    declared <= MAX_REF_LIST_REQUEST_BYTES
  ) {
    body = await readBody(req);
    bodyRead = body !== undefined;
    if (!body || clientGone()) return;
    received = body.length;
    if (isRefListRequest(body)) {
      const kept = r.refLists.lookup(command.directory, protocol, body);
      if (kept && "bytes" in kept) {
        return answerFromMemory({ res, service: target.service, kind: "result", bytes: kept.bytes, onTraffic: r.onTraffic, received });
      }
      refListStamp = kept?.stamp;
    }
  }
  let run: GitRun;
  try {
    run =
      body && r.precheck
        ? await runChecked(r.host, (hookEnv) => gitCommand(r, protocol, hookEnv), body, r.precheck, clientGone)
        : await r.host.run(command);
  } catch (error) {
    if (error instanceof ClientGone) return;
    logger.error({ err: error }, `could not run git ${command.service}`);
    res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("Internal error running git\n");
    return;
  }
  const { stream } = run;
  if (clientGone()) {
    run.kill();
    stream.destroy();
    return;
  }
  void run.exited.then(({ code, stderr }) => {
    if (code !== 0 && code !== null) logger.warn({ code, stderr: stderr.trim() }, `git ${command.service} failed`);
    if (code === 0 && command.service === "receive-pack" && !command.advertise) r.housekeeping?.afterPush(command.directory);
  });
  const kind = command.advertise ? "advertisement" : "result";
  // Set, not sent: the 200 goes out with git's first byte, so a request git refuses before
  // answering anything (a body that is not its protocol) still gets a status that says so.
  res.statusCode = 200; // Koa's default until a body is set is 404
  setNoCacheHeaders(res);
  res.setHeader("Content-Type", `application/x-${target.service}-${kind}`);
  if (command.advertise && protocolVersion(protocol) !== 2) res.write(`${pktLine(`# service=${target.service}\n`)}0000`);
  return new Promise((resolve) => {
    let sent = 0;
    res.once("close", () => {
      if (!res.writableFinished) run.kill(); // the client left before git's answer was all sent
      stream.destroy();
      r.onTraffic?.(received, sent);
      resolve();
    });
    if (r.onTraffic) {
      req.on("data", (chunk: Buffer) => (received += chunk.length));
      stream.on("data", (chunk: Buffer) => (sent += chunk.length));
    }
    if (cached && protocol) {
      collectAnswer(run, MAX_ADVERTISEMENT_BYTES, (bytes) => r.advertisements?.store(command.directory, protocol, cached.stamp, bytes));
    }
    const refListRequest = body;
    if (refListStamp !== undefined && refListRequest && protocol) {
      const stamp = refListStamp;
      collectAnswer(run, MAX_REF_LIST_BYTES, (bytes) => r.refLists?.store(command.directory, protocol, refListRequest, stamp, bytes));
    }
    if (command.advertise) {
      stream.end(); // an advertisement reads nothing (http-backend closes git's input)
      req.resume();
    } else if (body && r.precheck) {
      stream.end(); // all of it written by runChecked
    } else if (body) {
      stream.end(body); // read whole before git started (a list of refs)
    } else if (encoding === "gzip" || encoding === "x-gzip") {
      const gunzip = zlib.createGunzip();
      // A corrupt body: git gets the end of its input and fails, as with http-backend's inflate.
      gunzip.on("error", (error) => {
        logger.debug({ err: error }, "gzip request body could not be inflated");
        stream.end();
      });
      req.pipe(gunzip).pipe(stream);
    } else {
      req.pipe(stream);
    }
    stream.on("error", (error) => {
      logger.warn({ err: error }, "git process host connection failed");
      stream.destroy();
    });
    stream.pipe(res, { end: false });
    stream.resume();
    const finish = (ended: boolean) => {
      if (res.writableEnded || res.destroyed) return;
      if (!res.headersSent) return void run.exited.then(({ code, stderr }) => answerNothingSent(res, ended, code, stderr));
      if (ended) return void res.end();
      // Closed without an end. git that exited by itself (it refused the request, e.g. "ERR not our
      // ref", while its input was still being written: EPIPE) has said all it will: end the
      // answer so the client reads it. A host crash or a kill: cut the response so git sees the
      // failure instead of waiting forever (there is no request timeout on git routes).
      void run.exited.then(({ code }) => {
        if (res.writableEnded || res.destroyed) return;
        if (code === null) res.destroy();
        else res.end();
      });
    };
    stream.on("end", () => finish(true));
    stream.on("close", () => finish(false));
  });
}

// git's words for a request it cannot read (pkt-lines, pack, gzip): the client's fault, a 400.
const UNREADABLE_REQUEST = /protocol error|bad line length|invalid|unexpected|expected|inflate|unpack|eof/i;

/**
 * git exited before writing a byte: nothing went out yet, so the status can still say why.
 * Exit 0 is an empty answer (a request with nothing to do); a request git could not read is a
 * 400 with git's own line (hints only, never a secret it may quote); anything else is git's failure.
 */
function answerNothingSent(res: ServerResponse, ended: boolean, code: number | null, stderr: string): void {
  if (res.headersSent || res.destroyed) return;
  if (code === 0 && ended) {
    res.end();
    return;
  }
  const fatal = stderr.split("\n").find((line) => line.startsWith("fatal:")) ?? "";
  const unreadable = UNREADABLE_REQUEST.test(fatal);
  res.statusCode = unreadable ? 400 : 500;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(unreadable ? `git could not read the request: ${redactSecrets(fatal.replace(/^fatal:\s*/, ""))}\n` : "git failed\n");
}
