import fs from "node:fs";
import path from "node:path";

/** Blobs larger than this are scanned only when they look like text (no NUL in their first 8000 bytes, git's own test). */
export const SCAN_FULLY_UP_TO_BYTES = 8 * 1024 * 1024;
/** At most this many candidate strings go to the service for one push; more means a generated file, and the first ones decide. */
const MAX_CANDIDATES = 1000;

/**
 * git's pre-receive hook for pushes this service serves (set per request with core.hooksPath, so
 * repositories' own hooks folders stay untouched). It runs in git's quarantine: the objects of
 * the push are there, no ref has moved yet, and exiting non-zero refuses every ref of the push.
 *
 * 1. A notice prepared by the service (a token that expires soon) becomes "remote:" lines.
 * 2. Push protection: the objects this push adds (`rev-list --objects <new tips> --not --all`),
 *    trees left out, are streamed through one `cat-file --batch` and grep for strings shaped like
 *    a token. Only when some turn up is the service asked (report.mjs) whether any is live, so an
 *    ordinary push pays a few git commands and a grep, and no round trip.
 *
 * bash for pipefail: a scan that fails half-way refuses the push rather than letting it through.
 */
const PRE_RECEIVE = `#!/bin/bash
set -o pipefail
[ -z "$CLARIVE_PUSH_NOTICE" ] || printf '%s\\n' "$CLARIVE_PUSH_NOTICE" >&2
[ -n "$CLARIVE_PUSH_NONCE" ] || exit 0
tips=()
while read -r old new ref; do
  case $new in *[!0]*) tips+=("$new") ;; esac
done
[ \${#tips[@]} -gt 0 ] || exit 0
refuse() {
  echo "error: push protection could not scan this push for leaked tokens, so it was refused; try again" >&2
  exit 1
}
large=$(mktemp "\${TMPDIR:-/tmp}/clarive-scan.XXXXXX") || refuse
trap 'rm -f "$large"' EXIT
pattern='clapat_[0-9A-Za-z]{36}'
# grep's status 1 means "nothing found", not a failure.
search() { LC_ALL=C grep -a -o -E "$pattern" || [ $? -eq 1 ]; }
found=$(
  {
    git rev-list --objects --no-object-names "\${tips[@]}" --not --all |
      git cat-file --batch-check='%(objectname) %(objecttype) %(objectsize)' |
      awk -v limit=${SCAN_FULLY_UP_TO_BYTES} -v large="$large" '
        $2 == "tree" { next }
        $2 == "blob" && $3 > limit { print $1 > large; next }
        { print $1 }' |
      git cat-file --batch | search || exit 1
    while read -r oid; do
      # head stops reading early: without pipefail, so that is not taken for a failure.
      text=$(set +o pipefail; git cat-file blob "$oid" | head -c 8000 | tr -d '\\000' | wc -c)
      [ "$text" -eq 8000 ] || continue
      git cat-file blob "$oid" | search || exit 1
    done < "$large"
  } | sort -u | awk 'NR <= ${MAX_CANDIDATES}'
) || refuse
[ -n "$found" ] || exit 0
{ printf 'tip %s\\n' "\${tips[@]}"; printf 'candidate %s\\n' $found; } | "$CLARIVE_NODE" "$CLARIVE_HOOKS_DIR/report.mjs"
`;

/**
 * Asks the service about the candidates the hook found, over the service's hook socket, and
 * relays its answer: the lines git shows as "remote: …" and the exit status. No answer (the
 * service is gone, too slow) refuses the push: a leaked token must not slip through an outage.
 */
const REPORT = `import net from "node:net";
const fail = (message) => {
  process.stderr.write("error: " + message + "\\n");
  process.exit(1);
};
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const tips = [];
  const candidates = [];
  for (const line of input.split("\\n")) {
    if (line.startsWith("tip ")) tips.push(line.slice(4));
    else if (line.startsWith("candidate ")) candidates.push(line.slice(10));
  }
  const request = {
    nonce: process.env.CLARIVE_PUSH_NONCE,
    quarantine: process.env.GIT_QUARANTINE_PATH ?? null,
    tips,
    candidates,
  };
  const socket = net.connect(process.env.CLARIVE_HOOK_SOCKET);
  const timer = setTimeout(() => fail("push protection did not answer in time, so the push was refused; try again"), 60000);
  let answer = "";
  socket.setEncoding("utf8");
  socket.on("connect", () => socket.end(JSON.stringify(request) + "\\n"));
  socket.on("data", (chunk) => (answer += chunk));
  socket.on("error", () => fail("push protection is not reachable, so the push was refused; try again"));
  socket.on("end", () => {
    clearTimeout(timer);
    let reply;
    try {
      reply = JSON.parse(answer);
    } catch {
      fail("push protection gave no answer, so the push was refused; try again");
    }
    for (const line of reply.lines) process.stderr.write(line + "\\n");
    process.exit(reply.exitCode === 0 ? 0 : 1);
  });
});
`;

/** Writes the hooks into a folder of their own (created fresh at start-up, removed at stop). */
export function writePushHooks(directory: string): void {
  fs.writeFileSync(path.join(directory, "pre-receive"), PRE_RECEIVE, { mode: 0o755 });
  fs.writeFileSync(path.join(directory, "report.mjs"), REPORT, { mode: 0o644 });
}
