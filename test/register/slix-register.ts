// Test side of test/register/slix_register.py: stock slixmpp registering in-band (XEP-0077).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pythonBinary } from '../harness/slixmpp.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { TEST_CA_FILE } from '../harness/test-ca.ts';

export type RegisterEvent = { event: string; xml?: string; condition?: string; text?: string; cmd?: string; body?: string; from?: string; jid?: string };

export class SlixRegistrant {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly events: RegisterEvent[] = [];
  #read = 0;
  #waiters = new Set<() => void>();
  stderr = '';
  readonly exited: Promise<void>;

  constructor(cfg: { jid: string; password: string; port: number }) {
    const script = join(REPO_ROOT, 'test', 'register', 'slix_register.py');
    this.#proc = spawn(pythonBinary(), ['-B', script, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SSL_CERT_FILE: TEST_CA_FILE } });
    this.#proc.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => this.#proc.once('exit', () => r()));
    void this.exited.then(() => this.#waiters.forEach((w) => w()));
    createInterface({ input: this.#proc.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as RegisterEvent);
      this.#waiters.forEach((w) => w());
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.#proc.stdin.write(JSON.stringify(cmd) + '\n');
  }

  /** The next event (after those already taken) among `names`; earlier other events are skipped. */
  async next(names: string[], timeoutMs = 15_000): Promise<RegisterEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#read < this.events.length) {
        const e = this.events[this.#read++];
        if (e && names.includes(e.event)) return e;
      }
      if (this.#proc.exitCode !== null) throw new Error(`slixmpp exited waiting for ${names.join('/')}: ${JSON.stringify(this.events)} ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${names.join('/')} from slixmpp: ${JSON.stringify(this.events)} ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }

  async quit(): Promise<void> {
    if (this.#proc.exitCode === null) this.send({ cmd: 'quit' });
    const t = setTimeout(() => this.#proc.kill(), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
