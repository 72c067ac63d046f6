// JabberX under test: this checkout, started as `node src/main.ts start --config <generated>`
// with c2s STARTTLS on 127.0.0.1, the bench certificate, SCRAM at the common iteration count and
// only the modules the other two servers also run (roster, offline, ping; register, open, when
// the run has the registration scenarios).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Credential } from '../accounts.ts';
import { freePort, spawnWithLimit, stopTree, tail, type BenchServer, type PrepareResult, type ServerSetup } from './common.ts';
import { VERSION } from '../../src/version.ts';

/**
 * Open in-band registration for the register and password scenarios. This is a benchmark, not a
 * test of the defences: every registration comes from 127.0.0.1, so the per-address and
 * per-network limits (3 and 10 an hour by default) are raised out of reach; the username and
 * password rules stay as they are (the generator's names and long random passwords pass them).
 */
const REGISTER_OPEN = { mode: 'open', max_per_address: 1_000_000_000, max_per_range: 1_000_000_000 };

/**
 * The MUC service for the room scenario, at its default domain conference.<host>. This is a
 * benchmark, not a test of the defences: the per-occupant message rate (5/s, burst 20) is raised
 * out of reach so the saturation run measures the fan-out, not the throttle (Prosody 0.12 and
 * ejabberd do not throttle occupants by default); the fixed-rate run (2 msg/s per sender) is
 * within the default anyway. No history is kept (every occupant enters with maxstanzas='0').
 */
const MUC_UNTHROTTLED = { messages_per_second: 1_000_000, message_burst: 1_000_000, history_size: 0 };

export class JabberXServer implements BenchServer {
  readonly name = 'jabberx';
  readonly version: string;
  readonly host = '127.0.0.1';
  readonly domain: string;
  port = 0;
  pid = 0;
  #setup: ServerSetup;
  #config: string;
  #child: ChildProcess | undefined;

  constructor(setup: ServerSetup) {
    this.#setup = setup;
    this.domain = setup.domain;
    this.#config = join(setup.dir, 'jabberx.yml');
    let rev = '';
    try {
      rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: setup.repo, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout
    }
    this.version = rev ? `${VERSION} (${rev}${dirty(setup.repo) ? '+changes' : ''})` : VERSION;
  }

  #writeConfig(): void {
    mkdirSync(join(this.#setup.dir, 'data'), { recursive: true });
    const cfg = {
      data_dir: join(this.#setup.dir, 'data'),
      log: { level: 'warn', file: 'jabberx.log' },
      listeners: [{ type: 'c2s_starttls', port: this.port, address: this.host }],
      tls: { certificate: this.#setup.cert, key: this.#setup.key },
      auth: { scram_iterations: this.#setup.iterations },
      // All load comes from 127.0.0.1: the per-address admission limits (a defence against one
      // attacker) would measure themselves, not the server. Prosody and ejabberd have no such
      // limits by default; every other limit stays at its default.
      limits: { connection_rate_per_address: 1_000_000, connection_burst_per_address: 1_000_000, max_unauthenticated_per_address: 1_000_000, max_unauthenticated: 1_000_000 },
      hosts: { [this.domain]: {} },
      // The clique seeding (over XMPP for JabberX) has up to 200 requests pending per user at
      // once; the default cap (100, an anti-flood limit) would drop some of them.
      modules: { roster: { max_pending_requests: 1000 }, offline: {}, ping: {}, ...(this.#setup.registration ? { register: REGISTER_OPEN } : {}), ...(this.#setup.muc ? { muc: MUC_UNTHROTTLED } : {}) },
    };
    writeFileSync(this.#config, stringify(cfg));
  }

  /**
   * `jabberx adduser --batch`: the operator's own bulk path ("user@host password" lines). Its
   * stored data is sealed by the storage codec, so rosters are added over XMPP by the bench.
   */
  async prepare(creds: Credential[]): Promise<PrepareResult> {
    this.port = await freePort();
    this.#writeConfig();
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(this.#setup.repo, 'src/main.ts'), 'adduser', '--batch', '--config', this.#config], {
      cwd: this.#setup.repo,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    for (const c of creds) {
      if (!child.stdin.write(`${c.user}@${this.domain} ${c.password}\n`)) {
        await new Promise((r) => child.stdin.once('drain', r));
      }
    }
    child.stdin.end();
    const code = await done;
    if (code !== 0) throw new Error(`jabberx adduser --batch failed (${code}): ${out.slice(-2000)}`);
    return { method: 'jabberx adduser --batch', seconds: (performance.now() - t0) / 1000, rostersSeeded: false };
  }

  async start(): Promise<void> {
    // `jabberx start` re-executes itself with limits.v8_semi_space (2 MiB by default) unless a parent
    // talks to it over IPC, as this bench does: pass that flag here, so the bench runs what an
    // operator's `jabberx start` runs.
    // BENCH_JABBERX_NODE_ARGS: extra Node flags for the server only, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'.
    const extra = (process.env['BENCH_JABBERX_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const child = spawnWithLimit(process.execPath, [...extra, '--max-semi-space-size=2', join(this.#setup.repo, 'src/main.ts'), 'start', '--config', this.#config, '--allow-root'], {
      cwd: this.#setup.repo,
      logFile: join(this.#setup.dir, 'jabberx.out'),
      ipc: true,
    });
    this.#child = child;
    this.pid = child.pid ?? 0;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('JabberX did not report ready within 60 s')), 60000);
      child.on('message', (m: { type?: string }) => {
        if (m.type === 'ready') {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`JabberX exited with ${code} while starting:\n${this.logTail()}`));
      });
    });
  }

  async stop(): Promise<void> {
    if (!this.pid) return;
    this.#child?.disconnect?.();
    await stopTree(this.pid);
    this.pid = 0;
  }

  logTail(lines = 20): string {
    return `${tail(join(this.#setup.dir, 'jabberx.out'), lines)}\n${tail(join(this.#setup.dir, 'data', 'jabberx.log'), lines)}`;
  }
}

function dirty(repo: string): boolean {
  try {
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo, encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}
