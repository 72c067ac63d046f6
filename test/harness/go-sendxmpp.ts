// Test harness: Debian's go-sendxmpp, a stock command-line XMPP client written in Go (its own
// XMPP and TLS stacks, independent of xmpp.js and slixmpp), run exactly as a user runs it: account
// in its flags, the message on stdin. It trusts the test CA the way a Go program trusts a system
// CA, through SSL_CERT_FILE; its -n (--no-tls-verify) flag is never used.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { until } from './eventually.ts';
import { TEST_CA_FILE } from './test-ca.ts';
import type { StockClientAccount } from './stock-client.ts';

const BINARY = process.env['JABBERX_GO_SENDXMPP'] ?? 'go-sendxmpp';

/** Why go-sendxmpp cannot run here, or undefined when it can (for `{ skip }` in tests). */
export function goSendxmppUnavailable(): string | undefined {
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (r.error) return `go-sendxmpp not found (apt-get install go-sendxmpp): ${r.error.message}`;
  return r.status === 0 ? undefined : `go-sendxmpp --version failed: ${r.stderr}`;
}

/** -u, -p, -j, -t (direct TLS) and the trust store of a run. */
export interface GoSendxmppAccount extends StockClientAccount {
  /** Seconds for the whole run of a one-shot command. Default 20. */
  timeoutS?: number;
}

export interface GoSendxmppResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The flags every invocation shares: account, server, TLS mode. */
function accountArgs(acct: GoSendxmppAccount): string[] {
  return ['-u', acct.jid, '-p', acct.password, '-j', `${acct.host ?? '127.0.0.1'}:${String(acct.port)}`, ...(acct.directTls ? ['-t'] : [])];
}

/**
 * A fresh HOME (so no user's ~/.config/go-sendxmpp/sendxmpprc is read) and the CA trust through
 * the environment, as for any Go program on the system.
 */
function environment(acct: GoSendxmppAccount, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, SSL_CERT_FILE: acct.trustTestCa === false ? join(home, 'no-such-bundle.pem') : TEST_CA_FILE };
  // An empty directory: Go would otherwise also read the system's CA directories.
  env['SSL_CERT_DIR'] = home;
  return env;
}

function freshHome(): string {
  return mkdtempSync(join(tmpdir(), 'jabberx-go-sendxmpp-'));
}

/** Runs go-sendxmpp once with `input` on stdin; resolves with its exit code and output. */
export function runGoSendxmpp(acct: GoSendxmppAccount, args: string[], input = ''): Promise<GoSendxmppResult> {
  const home = freshHome();
  const timeoutMs = (acct.timeoutS ?? 20) * 1000;
  return new Promise<GoSendxmppResult>((resolvePromise, reject) => {
    const child = spawn(BINARY, [...accountArgs(acct), ...args], { env: environment(acct, home), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`go-sendxmpp ${args.join(' ')} timed out after ${String(timeoutMs)} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function mustSucceed(what: string, res: Promise<GoSendxmppResult>): Promise<GoSendxmppResult> {
  const r = await res;
  if (r.code !== 0) throw new Error(`go-sendxmpp ${what} failed (exit ${String(r.code)}): ${r.stderr || r.stdout}`);
  return r;
}

/** `echo text | go-sendxmpp … to`: a one-to-one chat message. */
export function sendChatMessage(acct: GoSendxmppAccount, to: string, text: string): Promise<GoSendxmppResult> {
  return mustSucceed(`to ${to}`, runGoSendxmpp(acct, [to], text));
}

/** `echo text | go-sendxmpp -c -a nick room`: joins the room (XEP-0045) and sends a groupchat message. */
export function sendRoomMessage(acct: GoSendxmppAccount, room: string, text: string, nick?: string): Promise<GoSendxmppResult> {
  return mustSucceed(`-c ${room}`, runGoSendxmpp(acct, ['-c', ...(nick === undefined ? [] : ['-a', nick]), room], text));
}

/** `go-sendxmpp -h file to`: uploads the file (XEP-0363) and sends its URL to `to`. */
export function uploadFile(acct: GoSendxmppAccount, to: string, filePath: string): Promise<GoSendxmppResult> {
  return mustSucceed(`-h ${filePath}`, runGoSendxmpp(acct, ['-h', filePath, to]));
}

/** One message as `go-sendxmpp -l` prints it: "<RFC 3339 time> <from>: <body>" (bodies may span lines). */
export interface ListenedMessage {
  time: string;
  from: string;
  body: string;
}

export interface GoSendxmppListener {
  /** The full JID the server bound for it. */
  readonly jid: string;
  /** Messages printed so far, parsed. */
  messages(): ListenedMessage[];
  /** Resolves with the first printed message matching; rejects after timeoutMs (default 10000). */
  waitForMessage(pred: (m: ListenedMessage) => boolean, timeoutMs?: number, what?: string): Promise<ListenedMessage>;
  /** Everything it wrote to stdout and stderr (stderr includes its -d protocol trace). */
  output(): { stdout: string; stderr: string };
  /** Ends the process (SIGTERM, then SIGKILL); never throws. */
  stop(): Promise<void>;
}

const LINE_START = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+?): /;

/** Splits -l output into messages: each starts with a timestamped line, continuation lines follow. */
export function parseListenOutput(stdout: string): ListenedMessage[] {
  const out: ListenedMessage[] = [];
  for (const line of stdout.split('\n')) {
    const m = LINE_START.exec(line);
    if (m) out.push({ time: m[1] ?? '', from: m[2] ?? '', body: line.slice(m[0].length) });
    else if (out.length > 0) out[out.length - 1]!.body += `\n${line}`;
  }
  // The trailing newline of the last message is not part of its body.
  for (const m of out) m.body = m.body.replace(/\n+$/, '');
  return out;
}

/**
 * `go-sendxmpp -l`: stays online and prints the messages it receives. It runs with -d so the
 * harness sees its session start (the server echoing its initial presence, RFC 6121 §4.2.2)
 * before the test sends anything. Stopped when `t` ends.
 */
export async function listen(t: TestContext | undefined, acct: GoSendxmppAccount, readyTimeoutMs = 15_000): Promise<GoSendxmppListener> {
  const home = freshHome();
  const child: ChildProcessWithoutNullStreams = spawn(BINARY, [...accountArgs(acct), '-d', '-l'], { env: environment(acct, home), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<void>((r) => child.once('close', () => ((exited = true), r())));
  killOnExit.add(child);
  void exit.then(() => killOnExit.delete(child));

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };
  t?.after(stop);

  let jid = '';
  try {
    await until(
      'go-sendxmpp -l to come online',
      () => {
        if (exited) throw new Error(`go-sendxmpp -l exited: ${stderr.slice(-2000)}`);
        jid ||= /<jid>([^<]+)<\/jid>/.exec(stderr)?.[1] ?? '';
        return jid !== '' && stderr.includes(`<presence`) && new RegExp(`<presence[^>]*from="${escapeRegExp(jid)}"`).test(stderr);
      },
      readyTimeoutMs,
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\nstderr: ${stderr.slice(-2000)}`, { cause: e });
  }

  const messages = (): ListenedMessage[] => parseListenOutput(stdout);
  return {
    jid,
    messages,
    async waitForMessage(pred, timeoutMs = 10_000, what = 'a matching message') {
      let found: ListenedMessage | undefined;
      await until(
        `go-sendxmpp -l to print ${what}`,
        () => {
          if (exited) throw new Error(`go-sendxmpp -l exited while waiting for ${what}: ${stderr.slice(-2000)}`);
          found = messages().find(pred);
          return found !== undefined;
        },
        timeoutMs,
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; printed so far:\n${stdout}`);
      });
      return found!;
    },
    output: () => ({ stdout, stderr }),
    stop,
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A failing test must not leave a listener running after the runner exits. */
const killOnExit = new Set<ChildProcessWithoutNullStreams>();
process.once('exit', () => {
  for (const c of killOnExit) c.kill('SIGKILL');
});
