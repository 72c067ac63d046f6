// A real SMTP server for tests: Debian's python3-aiosmtpd, storing every message it receives in a
// Maildir, from which tests read what the server under test mailed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { until } from './eventually.ts';

/** The system interpreter, where Debian's python3-aiosmtpd lives (a pyenv python3 may be first on PATH). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Why the sink can't run here, or undefined when it can. */
export function smtpSinkUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import aiosmtpd'], { encoding: 'utf8' });
  if (r.error) return `python3 not found (${r.error.message})`;
  return r.status === 0 ? undefined : 'python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)';
}

export interface ReceivedMail {
  /** The raw message as received. */
  raw: string;
  /** The decoded text body (quoted-printable undone). */
  text: string;
  header(name: string): string | undefined;
}

export interface SmtpSink {
  readonly port: number;
  /** The Maildir holding the messages. */
  readonly dir: string;
  messages(): ReceivedMail[];
  /** The first message (in arrival order) matching pred, waiting for it up to timeoutMs. */
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function parseMail(raw: string): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim();
  const encoding = header('Content-Transfer-Encoding')?.toLowerCase();
  const text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  return { raw, text, header };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const root = mkdtempSync(join(tmpdir(), 'jabberx-mail-'));
  // Not created here: Python's Maildir makes its tmp/new/cur only for a directory it creates.
  const dir = join(root, 'maildir');
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  process.once('exit', () => child.kill('SIGKILL'));
  await until(`aiosmtpd listening on ${port} (${stderr})`, () => portOpen(port), 15_000, 100);
  const seen: string[] = [];
  const messages = (): ReceivedMail[] => {
    const fresh = join(dir, 'new');
    if (existsSync(fresh)) {
      // Maildir names start with the delivery time: sorting keeps arrival order for new ones.
      for (const name of readdirSync(fresh).sort()) if (!seen.includes(name)) seen.push(name);
    }
    return seen.map((name) => parseMail(readFileSync(join(fresh, name), 'utf8')));
  };
  return {
    port,
    dir,
    messages,
    async waitFor(pred, timeoutMs = 15_000) {
      let found: ReceivedMail | undefined;
      await until('a matching mail', () => (found = messages().find(pred)) !== undefined, timeoutMs, 100);
      return found as ReceivedMail;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
