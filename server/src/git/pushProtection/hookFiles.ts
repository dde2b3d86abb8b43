import fs from "node:fs";
import path from "node:path";

/**
 * git's pre-receive hook for pushes this service serves (set per request with core.hooksPath, so
 * repositories' own hooks folders stay untouched). It runs in git's quarantine: the objects of
 * the push are there, no ref has moved yet, and exiting non-zero refuses every ref of the push.
 *
 * 1. A notice prepared by the service (a token that expires soon) becomes "remote:" lines.
 * 2. With push protection on, the hook asks the service to scan the push's quarantine, over
 *    loopback TCP (bash's /dev/tcp: no program to start), quoting the push's one-time nonce,
 *    and relays the verdict. The scan itself runs in the service (scan.ts): one git process.
 *    No answer refuses the push — a leaked token must not slip through an outage.
 */
const PRE_RECEIVE = `#!/bin/bash
[ -z "$CLARIVE_PUSH_NOTICE" ] || printf '%s\\n' "$CLARIVE_PUSH_NOTICE" >&2
[ -n "$CLARIVE_PUSH_NONCE" ] || exit 0
tips=()
refs=()
while read -r old new ref; do
  case $new in *[!0]*) tips+=("$new") refs+=("$ref") ;; esac
done
[ \${#tips[@]} -gt 0 ] || exit 0
refuse() {
  echo "error: $1, so the push was refused; try again" >&2
  exit 1
}
# In braces: exec's own 2>/dev/null would silence the rest of the hook.
{ exec 3<>"/dev/tcp/127.0.0.1/$CLARIVE_HOOK_PORT"; } 2>/dev/null || refuse "push protection is not reachable"
printf '%s\\n%s\\n%s\\n%s\\n' "$CLARIVE_PUSH_NONCE" "$GIT_QUARANTINE_PATH" "\${tips[*]}" "\${refs[*]}" >&3
IFS= read -r -t 600 verdict <&3 || refuse "push protection did not answer"
while IFS= read -r -t 60 line <&3; do printf '%s\\n' "$line" >&2; done
[ "$verdict" = accept ]
`;

/** Writes the hook into a folder of its own (created fresh at start-up, removed at stop). */
export function writePushHooks(directory: string): void {
  fs.writeFileSync(path.join(directory, "pre-receive"), PRE_RECEIVE, { mode: 0o755 });
}
