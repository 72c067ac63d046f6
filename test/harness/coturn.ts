// Test harness: a real coturn TURN server (Debian's `coturn`), started by the test on loopback
// with the TURN REST API's shared secret (use-auth-secret), no config file and no daemon, and
// turnutils_uclient, coturn's own client, to try an allocation with given credentials.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';

/** Why coturn can't run here, or undefined when it can (for `{ skip }`). */
export function coturnUnavailable(): string | undefined {
  for (const bin of ['turnserver', 'turnutils_uclient']) {
    const r = spawnSync('sh', ['-c', `command -v ${bin}`]);
    if (r.status !== 0) return `${bin} not found (apt-get install coturn)`;
  }
  return undefined;
}

export interface Coturn {
  port: number;
  secret: string;
  /** Everything it logged (no credentials: it logs user names, which are expiry times). */
  output(): string;
  stop(): Promise<void>;
}

/** A STUN Binding request (RFC 8489 §5): answered once the server listens. */
function stunAnswers(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12)]);
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    sock.on('message', (msg) => done(msg.readUInt16BE(0) === 0x0101));
    sock.on('error', () => done(false));
    sock.send(request, port, '127.0.0.1');
  });
}

export async function startCoturn(): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'jabberx-coturn-'));
  const port = await freePort();
  const secret = randomBytes(24).toString('base64url');
  const child: ChildProcess = spawn('turnserver', [
    '-n', // no configuration file
    '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=jabberx.test',
    '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers',
    // Its files in the test's folder, not /var/lib/turn or /var/run.
    `--userdb=${join(dir, 'turndb')}`, `--pidfile=${join(dir, 'turnserver.pid')}`,
    '--log-file=stdout', '--simple-log',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(port, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`coturn did not start on port ${port}:\n${out}`);
    }
  }
  return { port, secret, output: () => out, stop };
}

/**
 * Allocates a relay with turnutils_uclient and sends data through it to itself (-y): 'allocated'
 * once data came back through the relay, 'refused' when the allocation was refused.
 */
export function tryAllocation(port: number, username: string, password: string, timeoutMs = 15_000): Promise<'allocated' | 'refused'> {
  return new Promise((resolve, reject) => {
    const child = spawn('turnutils_uclient', ['-y', '-c', '-n', '2', '-m', '1', '-u', username, '-w', password, '-p', String(port), '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let result: 'allocated' | 'refused' | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const read = (d: string) => {
      out += d;
      // Data relayed both ways: the allocation and its permission worked; no need to wait out the run.
      if (result === undefined && /tot_recv_msgs=[1-9]/.test(out)) {
        result = 'allocated';
        child.kill('SIGTERM');
      }
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else if (/Cannot complete Allocation/.test(out)) resolve('refused');
      else reject(new Error(`turnutils_uclient ended (${String(code)}) without a verdict:\n${out}`));
    });
  });
}
