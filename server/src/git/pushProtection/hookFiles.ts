import fs from "node:fs";
import path from "node:path";

/**
 * git's pre-receive hook for pushes this service serves (set per request with core.hooksPath).
 * It runs in git's quarantine: the objects of the push are there, no ref has moved yet, and
 * exiting non-zero refuses every ref of the push.
 *
 * 1. A notice prepared by the service (a token that expires soon) becomes "remote:" lines.
 * 2. With push protection on, the hook asks the service to scan the push's quarantine, over
 *    loopback TCP (bash's /dev/tcp: no program to start), quoting the push's one-time nonce,
 *    and relays the verdict. The scan itself runs in the service (scan.ts): one git process.
 *    No answer refuses the push — a leaked token must not slip through an outage.
 * 3. The repository's own pre-receive hook, if it has one, then runs with the same input: an
 *    administrator's server-side hook still decides too.
 */
const PRE_RECEIVE = `#!/bin/bash
[ -z "$CLARIVE_PUSH_NOTICE" ] || printf '%s\\n' "$CLARIVE_PUSH_NOTICE" >&2
# Builtins only (mapfile, read, /dev/tcp): the hook is the one program a push starts for it.
mapfile -t input
own="\${GIT_DIR:-.}/hooks/pre-receive"
own_hook() {
  [ ! -x "$own" ] || printf '%s\\n' "\${input[@]}" | "$own"
}
[ -n "$CLARIVE_PUSH_NONCE" ] || { own_hook; exit; }
tips=()
refs=()
for line in "\${input[@]}"; do
  fields=($line) # old new ref: ids and a ref name, never spaces
  case \${fields[1]} in *[!0]*) tips+=("\${fields[1]}") refs+=("\${fields[2]}") ;; esac
done
[ \${#tips[@]} -gt 0 ] || { own_hook; exit; }
refuse() {
  echo "error: $1, so the push was refused; try again" >&2
  exit 1
}
# In braces: exec's own 2>/dev/null would silence the rest of the hook.
{ exec 3<>"/dev/tcp/127.0.0.1/$CLARIVE_HOOK_PORT"; } 2>/dev/null || refuse "push protection is not reachable"
printf '%s\\n%s\\n%s\\n%s\\n' "$CLARIVE_PUSH_NONCE" "$GIT_QUARANTINE_PATH" "\${tips[*]}" "\${refs[*]}" >&3
IFS= read -r -t 600 verdict <&3 || refuse "push protection did not answer"
while IFS= read -r -t 60 line <&3; do printf '%s\\n' "$line" >&2; done
exec 3<&-
[ "$verdict" = accept ] || exit 1
own_hook
`;

/** For a repository with hooks of its own: each of these runs the repository's, as git would without core.hooksPath. */
const OWN_HOOK = `#!/bin/bash
own="\${GIT_DIR:-.}/hooks/\${0##*/}"
[ -x "$own" ] || exit 0
exec "$own" "$@"
`;

/** The hooks git runs for a push (besides pre-receive) that a repository may have of its own. */
// As git runs them without core.hooksPath, so that a push runs the same hooks of a repository's
// whichever way push protection checked it (a push proven clean runs git with no hooksPath).
export const CHAINED_HOOKS = ["update", "post-receive", "post-update", "reference-transaction"] as const;

/**
 * Two hook folders, created fresh at start-up and removed at stop: `plain` has our pre-receive
 * only (every other hook a push would run costs a program start), `chained` adds the hooks that
 * hand over to a repository's own, for repositories that have some.
 */
export function writePushHooks(directory: string): { plain: string; chained: string } {
  const plain = path.join(directory, "plain");
  const chained = path.join(directory, "chained");
  for (const folder of [plain, chained]) {
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, "pre-receive"), PRE_RECEIVE, { mode: 0o755 });
  }
  for (const name of CHAINED_HOOKS) fs.writeFileSync(path.join(chained, name), OWN_HOOK, { mode: 0o755 });
  return { plain, chained };
}

/** Whether a repository has hooks of its own that git would run for a push (samples do not count). */
export function hasOwnPushHooks(repositoryPath: string): boolean {
  return CHAINED_HOOKS.some((name) => {
    try {
      fs.accessSync(path.join(repositoryPath, "hooks", name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
