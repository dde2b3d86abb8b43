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

export type GitPathResult = { ok: true; target: GitRequestTarget } | { ok: false; status: 403 | 404 | 405; message: string };

const SMART_PATH = /\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;
const SERVICES = new Set<string>(["git-upload-pack", "git-receive-pack"]);

/**
 * Recognises git's smart HTTP requests, `…/<project>/<repo>[.git]/<endpoint>`. Dumb HTTP
 * (objects, info/packs, info/refs without a service) and unknown services are refused before
 * any authentication, so they reveal nothing.
 */
export function parseGitRequest(pathname: string, method: string, service: string | undefined): GitPathResult {
  const match = SMART_PATH.exec(pathname);
  if (!match) {
    return { ok: false, status: 404, message: "Not a git smart-HTTP URL (dumb HTTP is not supported)" };
  }
  let project: string;
  let repository: string;
  try {
    project = decodeURIComponent(match[1] ?? "");
    repository = decodeURIComponent(match[2] ?? "");
  } catch {
    return { ok: false, status: 404, message: "Repository not found" };
  }
  if (nameProblem("project", project) || nameProblem("repository", repository)) {
    return { ok: false, status: 404, message: "Repository not found" };
  }
  const endpoint = match[3] as GitRequestTarget["endpoint"];
  if (endpoint === "info/refs") {
    if (method !== "GET") return { ok: false, status: 405, message: "info/refs takes GET" };
    if (!service) return { ok: false, status: 403, message: "Dumb HTTP is not supported; use git 1.6.6 or later" };
    if (!SERVICES.has(service)) return { ok: false, status: 403, message: `Unsupported service ${service}` };
  } else if (method !== "POST") {
    return { ok: false, status: 405, message: `${endpoint} takes POST` };
  }
  const effective = (endpoint === "info/refs" ? service : endpoint) as GitService;
  return {
    ok: true,
    target: { project, repository, endpoint, service: effective, write: effective === "git-receive-pack" },
  };
}
