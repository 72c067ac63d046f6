// Test harness: runs the real JabberX server process (RFC 6120 c2s over real sockets) in a temp dir.
// Tests drive it only through its CLI and sockets, never by importing server internals, so what
// they prove is what an operator gets.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { connectClient, type ClientOptions, type TestClient } from './client.ts';
import { REPO_ROOT } from './paths.ts';
import { issueTestCertificate } from './test-ca.ts';

export { REPO_ROOT };
const MAIN = join(REPO_ROOT, 'src', 'main.ts');

/** The pinned Node 24: the one running the tests when started via `npx node --test`. */
export function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const pinned = join(REPO_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(pinned) ? pinned : process.execPath;
}

export interface Ports {
  c2s_starttls: number;
  c2s_direct_tls: number;
}

export interface StartOptions {
  /** Virtual hosts served; the first is `domain`. Default ['localhost']. */
  hosts?: string[];
  /** Deep-merged over the harness defaults before writing the YAML (arrays replace). */
  config?: Record<string, unknown>;
  /** Shortcut for config.modules: a list of module names or a name -> options map. */
  modules?: string[] | Record<string, Record<string, unknown>>;
  /** Accounts created (via `jabberx adduser`) before the server starts. */
  users?: Array<[jid: string, password: string]>;
  /** Reuse this temp dir (from an earlier, stopped TestServer): restarts on the same data. */
  root?: string;
  /** Milliseconds to wait for the 'ready' message. Default 30000. */
  readyTimeoutMs?: number;
}

export interface StopOptions {
  /** Delete the temp dir afterwards (default false, so privacy tests can grep the files). */
  remove?: boolean;
  /** SIGKILL the server if it has not exited this long after SIGTERM. Default 10000. */
  killAfterMs?: number;
}

export interface TestServer {
  /** The temp dir holding config, data and logs. */
  readonly root: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly logFile: string;
  readonly ports: Ports;
  /** First configured host. */
  readonly domain: string;
  readonly hosts: string[];
  /** Passwords of the accounts the harness created, by bare JID. */
  readonly passwords: Map<string, string>;
  readonly process: ChildProcess;
  adduser(jid: string, password?: string): Promise<string>;
  /** Runs any `jabberx` CLI command with this server's --config. */
  cli(args: string[], input?: string): Promise<CliResult>;
  /** Captured stdout/stderr of the server process plus the log file. */
  logs(): string;
  stop(opts?: StopOptions): Promise<void>;
  /** Removes the temp dir (stops the server first if it still runs). */
  remove(): Promise<void>;
  /**
   * Logs in with @xmpp/client over STARTTLS (default) and closes the client when `t` ends.
   * `who` is a localpart (on `domain`) or a bare JID; the account is created if the harness
   * does not know it yet.
   */
  connectClient(t: TestContext | undefined, who: string, opts?: Partial<ClientOptions>): Promise<TestClient>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `over` into `base`: objects recursively, anything else (arrays included) replaces. */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A failing test must not leave a server listening after the runner exits.
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

function runCli(args: string[], configPath: string, input?: string, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(nodeBinary(), [MAIN, ...args, '--config', configPath], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jabberx ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

function bareOf(who: string, domain: string): string {
  return who.includes('@') ? who : `${who}@${domain}`;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const hosts = opts.hosts ?? ['localhost'];
  const domain = hosts[0];
  if (domain === undefined) throw new Error('startServer: at least one host');
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'jabberx-test-'));
  const dataDir = join(root, 'data');
  const configPath = join(root, 'jabberx.yml');
  const logFile = join(dataDir, 'jabberx.log');

  let config: Obj = {
    data_dir: dataDir,
    // Debug level on purpose: the privacy tests grep these logs for bodies, passwords and IPs.
    log: { level: 'debug', file: logFile },
    listeners: [
      { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
      { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
    ],
    storage: { backend: 'sqlite', path: join(dataDir, 'jabberx.sqlite') },
    // The minimum the server accepts, to keep logins fast in tests. Every limit (brute-force
    // throttle, connection rates and caps, buffers) keeps its production default: a test about a
    // limit changes that limit only.
    auth: { scram_iterations: 4096 },
    // Certificates from the test CA, which the test processes trust (test-ca.ts).
    hosts: Object.fromEntries(await Promise.all(hosts.map(async (h) => [h, await issueTestCertificate(h, join(root, 'certs'))] as const))),
  };
  if (opts.modules) {
    config['modules'] = Array.isArray(opts.modules) ? Object.fromEntries(opts.modules.map((m) => [m, {}])) : opts.modules;
  }
  if (opts.config) config = deepMerge(config, opts.config);
  writeFileSync(configPath, stringify(config));

  const passwords = new Map<string, string>();
  const cli = (args: string[], input?: string): Promise<CliResult> => runCli(args, configPath, input);
  const adduser = async (jid: string, password?: string): Promise<string> => {
    const bare = bareOf(jid, domain);
    const pw = password ?? `pw-${randomBytes(9).toString('base64url')}`;
    const res = await cli(['adduser', bare, '--password', pw]);
    if (res.code !== 0) throw new Error(`adduser ${bare} failed (exit ${String(res.code)}): ${res.stderr || res.stdout}`);
    passwords.set(bare, pw);
    return pw;
  };
  for (const [jid, pw] of opts.users ?? []) await adduser(jid, pw);

  let output = '';
  // CI runs as root; the server refuses that unless told (src/cli/root-refusal.ts).
  const child = fork(MAIN, ['start', '--config', configPath, '--allow-root'], {
    cwd: REPO_ROOT,
    execPath: nodeBinary(),
    // What `jabberx start` runs with in production (limits.v8_semi_space, 2 MiB): under IPC it
    // does not re-execute itself, so the flag is given here.
    execArgv: ['--max-semi-space-size=2'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  trackChild(child);
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));

  const readLogFile = (): string => {
    let text = '';
    try {
      text = readFileSync(logFile, 'utf8');
    } catch {
      // not written yet
    }
    return text;
  };
  const logs = (): string => `${output}\n${readLogFile()}`;

  const ports = await new Promise<Ports>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not ready after ${String(opts.readyTimeoutMs ?? 30_000)} ms\n${logs()}`));
    }, opts.readyTimeoutMs ?? 30_000);
    child.on('message', (msg: unknown) => {
      if (isObj(msg) && msg['type'] === 'ready' && isObj(msg['ports'])) {
        clearTimeout(timer);
        resolvePromise(msg['ports'] as unknown as Ports);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited before ready (code ${String(code)}, signal ${String(signal)})\n${logs()}`));
    });
  });

  // Neither the child nor its pipes keep the test process alive; stop() still waits for the exit.
  child.unref();
  child.channel?.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });

  let stopped = false;
  const stop = async (o: StopOptions = {}): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.ref(); // keep the test process alive until the server has exited
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 10_000);
        await exited;
        clearTimeout(timer);
      }
    }
    if (o.remove) rmSync(root, { recursive: true, force: true });
  };

  const server: TestServer = {
    root,
    dataDir,
    configPath,
    logFile,
    ports,
    domain,
    hosts,
    passwords,
    process: child,
    adduser,
    cli,
    logs,
    stop,
    remove: () => stop({ remove: true }),
    async connectClient(t, who, copts = {}) {
      const bare = bareOf(who, domain);
      const at = bare.lastIndexOf('@');
      const username = bare.slice(0, at);
      const host = bare.slice(at + 1);
      const password = copts.password ?? passwords.get(bare) ?? (await adduser(bare));
      const directTls = copts.directTls ?? false;
      const client = await connectClient({
        port: directTls ? ports.c2s_direct_tls : ports.c2s_starttls,
        ...copts,
        domain: host,
        username,
        password,
        directTls,
      });
      t?.after(() => client.close());
      return client;
    },
  };
  return server;
}

/** Every file under `dir` (recursively), for the privacy greps. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}
