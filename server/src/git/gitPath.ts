import { nameProblem } from "@clarive/shared";

export type GitService = "git-upload-pack" | "git-receive-pack";

export interface GitRequestTarget {
  project: string;
  repository: string;
  /** What follows the repository in the URL: "info/refs", "git-upload-pack" or "git-receive-pack". */
  endpoint: "info/refs" | GitService;
  service: GitService;
  /** receive-pack (push) writes; everything else reads. */
  write: boolean;
}

export type GitPathResult = { ok: true; target: GitRequestTarget } | { ok: false; status: 400 | 403 | 404 | 405; message: string };

/**
 * Exactly `/git/<project>/<repo>[.git]/<endpoint>`: two plain segments, nothing before or
 * after. Names never need percent-encoding, so none is decoded: every reader of the URL (this
 * service, nginx in front of git http-backend, git itself) sees the same repository.
 */
const SMART_PATH = /^\/git\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;
/**
 * An external git server behind the auth hook may serve the same URLs without the /git
 * prefix. Still exactly two segments, so no URL has two readings (`/git/a/info/refs` is
 * project "git", repository "a").
 */
const EXTERNAL_PATH = /^(?:\/git)?\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;
const SERVICES = new Set<string>(["git-upload-pack", "git-receive-pack"]);
const NOT_FOUND: GitPathResult = Object.freeze({ ok: false, status: 404, message: "Repository not found" });

/**
 * Recognises git's smart HTTP requests from the raw path and query string. Dumb HTTP (objects,
 * info/packs, info/refs without a service), unknown services and anything ambiguous are
 * refused before any authentication, so they reveal nothing.
 */
export function parseGitRequest(
  pathname: string,
  method: string,
  query: string,
  layout: "service" | "external" = "service",
): GitPathResult {
  const match = (layout === "service" ? SMART_PATH : EXTERNAL_PATH).exec(pathname);
  if (!match) {
    return /\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(pathname)
      ? NOT_FOUND
      : { ok: false, status: 404, message: "Not a git smart-HTTP URL (dumb HTTP is not supported)" };
  }
  const project = match[1] ?? "";
  const repository = match[2] ?? "";
  if (nameProblem("project", project) || nameProblem("repository", repository)) return NOT_FOUND;
  const endpoint = match[3] as GitRequestTarget["endpoint"];
  if (endpoint === "info/refs") {
    if (method !== "GET") return { ok: false, status: 405, message: "info/refs takes GET" };
    const services = serviceParameters(query);
    if (services.length > 1) return { ok: false, status: 400, message: "Give the service parameter once" };
    const service = services[0];
    if (!service) return { ok: false, status: 403, message: "Dumb HTTP is not supported; use git 1.6.6 or later" };
    if (!SERVICES.has(service)) return { ok: false, status: 403, message: "Unsupported service" };
    return { ok: true, target: { project, repository, endpoint, service: service as GitService, write: service === "git-receive-pack" } };
  }
  if (method !== "POST") return { ok: false, status: 405, message: `${endpoint} takes POST` };
  return { ok: true, target: { project, repository, endpoint, service: endpoint, write: endpoint === "git-receive-pack" } };
}

/** Every value of `service` in a raw query string, decoded as git http-backend decodes it. */
function serviceParameters(query: string): string[] {
  if (!query) return [];
  const values: string[] = [];
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    const name = equals < 0 ? pair : pair.slice(0, equals);
    if (decodeQueryPart(name) !== "service") continue;
    values.push(equals < 0 ? "" : decodeQueryPart(pair.slice(equals + 1)));
  }
  return values;
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, " "));
  } catch {
    return part;
  }
}

/** Content-Encodings git http-backend decodes and the service decodes likewise (see httpBackend.ts), and none at all. */
const BODY_ENCODINGS = new Set(["gzip", "x-gzip", "identity"]);

/**
 * What git http-backend would refuse in a POST's headers, refused here before git runs: git
 * compares the Content-Type exactly and, answering without reading the body, races the upload
 * (the client then sees a cut connection or an empty 500 instead of git's 415). The message is git's own.
 */
export function gitBodyProblem(
  target: GitRequestTarget,
  contentType: string | undefined,
  contentEncoding: string | undefined,
): { status: 415; message: string } | undefined {
  if (target.endpoint === "info/refs") return undefined;
  const expected = `application/x-${target.service}-request`;
  if (contentType !== expected) {
    return { status: 415, message: `Expected POST with Content-Type '${expected}', but received '${contentType ?? ""}' instead.` };
  }
  if (contentEncoding && !BODY_ENCODINGS.has(contentEncoding)) {
    return { status: 415, message: `Content-Encoding '${contentEncoding}' is not supported; send the body as is or gzip-compressed` };
  }
  return undefined;
}
