// The orchestrator's handle on the load generator processes: start them with a raised
// open-file limit, send them commands over IPC, read their CPU time and memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sampleTree } from './proc-stats.ts';

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class WorkerPool {
  readonly size: number;
  #procs: ChildProcess[] = [];
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 0;

  constructor(size: number) {
    this.size = size;
  }

  start(): void {
    for (let w = 0; w < this.size; w++) {
      // `ulimit -n` to the hard limit: each worker may hold ~10,000 sockets.
      const p = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, WORKER], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      p.on('message', (m: Reply) => {
        const h = this.#pending.get(m.id);
        if (!h) return;
        this.#pending.delete(m.id);
        if (m.ok) h.resolve(m.result);
        else h.reject(new Error(`worker ${w}: ${m.error}`));
      });
      p.on('exit', (code, sig) => {
        for (const h of this.#pending.values()) h.reject(new Error(`worker ${w} exited (${code ?? sig})`));
        this.#pending.clear();
      });
      this.#procs.push(p);
    }
  }

  call<T>(w: number, cmd: string, args: unknown = {}): Promise<T> {
    const p = this.#procs[w];
    if (!p?.connected) return Promise.reject(new Error(`worker ${w} is not running`));
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      p.send({ id, cmd, args });
    });
  }

  /** The same command on every worker at once, with per-worker arguments. */
  all<T>(cmd: string, args: (w: number) => unknown = () => ({})): Promise<T[]> {
    return Promise.all(this.#procs.map((_, w) => this.call<T>(w, cmd, args(w))));
  }

  /** CPU seconds and RSS of all generator processes together. */
  sample(): { cpu: number; rss: number } {
    let cpu = 0;
    let rss = 0;
    for (const p of this.#procs) {
      if (!p.pid) continue;
      const s = sampleTree(p.pid);
      cpu += s.cpu;
      rss += s.rss;
    }
    return { cpu, rss };
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#procs.map((_, w) => this.call(w, 'exit')));
    for (const p of this.#procs) if (p.exitCode === null) p.kill('SIGTERM');
    this.#procs = [];
  }
}

/** Split items over workers: item k goes to worker k % n. */
export function split<T>(items: T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((it, k) => out[k % n]?.push(it));
  return out;
}
