// Linux /proc readings for the bench (proc(5)): resident memory and CPU time of a server's whole
// process tree (ejabberd is several OS processes, JabberX may fork workers), and the machine's
// total CPU time so the report can show how busy the rest of the machine was.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 on every Linux this runs on.
}

interface Stat {
  ppid: number;
  cpuSeconds: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const n = (i: number) => Number(f[i - 3] ?? 0);
  return { ppid: n(4), cpuSeconds: (n(14) + n(15) + n(16) + n(17)) / clkTck };
}

/** The pid and all its descendants that are alive now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (!s) continue;
    let list = children.get(s.ppid);
    if (!list) children.set(s.ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop() as number;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface TreeSample {
  /** Sum of VmRSS over the tree, bytes. */
  rss: number;
  /** Sum of user+system CPU seconds over the tree (children that exited included). */
  cpu: number;
  pids: number[];
}

/** Memory and CPU of a process tree. The pid list is refreshed on each call (cheap enough). */
export function sampleTree(root: number): TreeSample {
  const pids = processTree(root);
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    rss += rssKiB(pid) * 1024;
    cpu += readStat(pid)?.cpuSeconds ?? 0;
  }
  return { rss, cpu, pids };
}

/** CPU seconds of the whole machine: busy (all but idle and iowait) and total, all cores summed. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / clkTck, total: total / clkTck };
}
