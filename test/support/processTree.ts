import fs from "node:fs";

export interface ProcessMemory {
  pid: number;
  ppid: number;
  command: string;
  rssKb: number;
  pssKb: number;
}

const readOr = (file: string, fallback: string): string => {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback; // the process has just exited
  }
};

function parentOf(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`, "");
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ')' ends it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return stat ? Number(fields[1]) : undefined;
}

function kb(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

/** `root` and every process below it (Linux /proc), with their resident memory. */
export function processTree(root: number): ProcessMemory[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid !== undefined) parents.set(Number(entry), ppid);
  }
  const inTree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!inTree.has(pid) && inTree.has(ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  return [...inTree].flatMap((pid) => {
    const rollup = readOr(`/proc/${pid}/smaps_rollup`, "");
    if (!rollup) return [];
    const command = readOr(`/proc/${pid}/cmdline`, "").split("\0").filter(Boolean).join(" ");
    return [{ pid, ppid: parents.get(pid) ?? 0, command, rssKb: kb(rollup, "Rss"), pssKb: kb(rollup, "Pss") }];
  });
}
