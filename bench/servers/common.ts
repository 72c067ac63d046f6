// What the bench needs from each XMPP server under test (RFC 6120 c2s on 127.0.0.1 with
// STARTTLS), and the process plumbing shared by the three launchers: a raised open-file limit,
// a free port, waiting for the listener, stopping the whole process tree.
import { spawn, execFileSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { openSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { processTree } from '../proc-stats.ts';
import type { Credential, RosterPlan } from '../accounts.ts';

export interface PrepareResult {
  method: string;
  seconds: number;
  /** The rosters of the RosterPlan were written too (else the bench adds them over XMPP). */
  rostersSeeded: boolean;
}

export interface BenchServer {
  readonly name: string;
  readonly version: string;
  readonly host: string;
  readonly domain: string;
  port: number;
  /** Root of the server's process tree (sampled for RSS and CPU). */
  pid: number;
  /** Create the accounts (and, where the storage format is open, the planned rosters) before the server starts. */
  prepare(creds: Credential[], rosters: RosterPlan): Promise<PrepareResult>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Last lines of the server's own log, for the report when something fails. */
  logTail(lines?: number): string;
}

export interface ServerSetup {
  dir: string;
  domain: string;
  cert: string;
  key: string;
  iterations: number;
  repo: string;
  /** XEP-0198 on every session (--stream-management): each server gets its module for it. */
  streamManagement: boolean;
  /** In-band registration (XEP-0077) open to anyone and unthrottled: the register and password scenarios. */
  registration: boolean;
  /** A multi-user chat service (XEP-0045) at conference.<domain>, rooms creatable by anyone: the room scenario. */
  muc: boolean;
  /** PEP (XEP-0163) with caps-based +notify (XEP-0115): the pep scenario. */
  pep: boolean;
}

/**
 * Start a command with its soft open-file limit raised to the hard limit (19,000 sessions need
 * as many descriptors), stdout and stderr to a file in the server's folder.
 */
export function spawnWithLimit(
  cmd: string,
  args: string[],
  opts: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv; ipc?: boolean },
): ChildProcess {
  const out = openSync(opts.logFile, 'a');
  const stdio: StdioOptions = opts.ipc ? ['ignore', out, out, 'ipc'] : ['ignore', out, out];
  return spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio,
  });
}

/** A TCP port nobody listens on right now (other helpers run servers on this machine too). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, host: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (!alive()) throw new Error('the server exited while starting');
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}

/** SIGTERM to the whole tree, SIGKILL to whatever is left after `graceMs`. Only our own pids. */
export async function stopTree(root: number, graceMs = 15000): Promise<void> {
  let pids = processTree(root);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const t0 = Date.now();
  while (Date.now() - t0 < graceMs) {
    pids = pids.filter((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid));
    if (pids.length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function isZombie(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

/** One self-signed ECDSA P-256 certificate for the bench domain, made with the openssl CLI. */
export function makeCertificate(dir: string, domain: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '7', '-subj', `/CN=${domain}`, '-addext', `subjectAltName=DNS:${domain}`],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function debVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
