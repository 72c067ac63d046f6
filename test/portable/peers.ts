// Private Prosody and ejabberd instances (Debian's packages) for the XEP-0227 import tests: each on
// loopback, on free ports, with its own config and data in a temp dir, no system service. Each
// makes a XEP-0227 export the way its operators do: Prosody with prosody-migrator into its xep0227
// store, ejabberd with its export_piefxis command (through its HTTP API, mod_http_api).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../harness/net.ts';
import { until } from '../harness/eventually.ts';
import { issueTestCertificate } from '../harness/test-ca.ts';

const lua = (s: string) => JSON.stringify(s);

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    void import('node:net').then(({ default: net }) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Files run as Prosody's own user when started as root (it switches to it): they must be its. */
function giveToProsody(path: string): void {
  if (process.getuid?.() !== 0) return;
  const pw = spawnSync('id', ['-u', 'prosody'], { encoding: 'utf8' });
  const gr = spawnSync('id', ['-g', 'prosody'], { encoding: 'utf8' });
  if (pw.status !== 0) return;
  const uid = Number(pw.stdout.trim());
  const gid = Number(gr.stdout.trim());
  const walk = (p: string) => {
    chownSync(p, uid, gid);
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(path);
}

export class ProsodyPeer {
  readonly dir: string;
  readonly domain = 'localhost';
  port = 0;
  #child: ChildProcess | undefined;

  static unavailable(): string | undefined {
    if (!which('prosody') || !which('prosodyctl') || !which('prosody-migrator')) return 'prosody is not installed (apt-get install prosody)';
    if (!which('lua5.4')) return 'lua5.4 (prosody-migrator\'s interpreter) is not installed';
    // prosody-migrator runs with its data path bind-mounted (see #runMigrator).
    if (spawnSync('unshare', ['--mount', 'true']).status !== 0) return 'a private mount namespace is not allowed here (unshare --mount needs root)';
    return undefined;
  }

  constructor(dir: string) {
    this.dir = dir;
  }

  get #config(): string {
    return join(this.dir, 'prosody.cfg.lua');
  }

  async prepare(): Promise<void> {
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    this.port = await freePort();
    const { certificate, key } = await issueTestCertificate(this.domain, join(this.dir, 'certs'));
    const d = this.dir;
    writeFileSync(this.#config, `run_as_root = true
pidfile = ${lua(join(d, 'prosody.pid'))}
data_path = ${lua(join(d, 'data'))}
certificates = ${lua(join(d, 'certs'))}
log = { info = ${lua(join(d, 'prosody.log'))} }
modules_enabled = { "roster", "saslauth", "tls", "disco", "vcard", "private", "offline" }
modules_disabled = { "s2s", "s2s_auth_certs", "dialback" }
c2s_ports = { ${this.port} }
c2s_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = {}
s2s_ports = {}
s2s_interfaces = {}
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
ssl = { certificate = ${lua(certificate)}, key = ${lua(key)} }
VirtualHost ${lua(this.domain)}
`);
  }

  /** `prosodyctl register`, as an operator creates accounts. */
  register(user: string, password: string): void {
    const r = spawnSync('prosodyctl', ['--config', this.#config, 'register', user, this.domain, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`prosodyctl register ${user}: ${r.stdout}${r.stderr}`);
    giveToProsody(join(this.dir, 'data'));
  }

  async start(): Promise<void> {
    giveToProsody(join(this.dir, 'data'));
    const child = spawn('prosody', ['--config', this.#config, '-F'], { cwd: this.dir, stdio: 'ignore' });
    this.#child = child;
    await until('prosody listens', async () => {
      if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode}): ${this.logTail()}`);
      return portOpen(this.port);
    }, 30_000, 100);
  }

  async stop(): Promise<void> {
    if (this.#child) await stopChild(this.#child);
  }

  /**
   * prosody-migrator from its internal storage into its xep0227 driver. The migrator reads and
   * writes xep0227 files in its compiled-in data path (/var/lib/prosody, CFG_DATADIR; the main
   * config is not read): the stock script runs in a mount namespace of its own where the folder is
   * bind-mounted over that path, so the system's Prosody data is never touched. Returns that
   * folder, one user@host.xml per user.
   */
  migrate(stores: string[]): string {
    const out = join(this.dir, 'xep0227');
    mkdirSync(out, { recursive: true });
    this.#runMigrator(out, stores, { type: 'internal', path: join(this.dir, 'data') }, { type: 'xep0227', path: out });
    return out;
  }

  /** The other way: user@host.xml files in FOLDER into its internal storage (before start()). */
  load(folder: string, stores: string[]): void {
    this.#runMigrator(folder, stores, { type: 'xep0227', path: folder }, { type: 'internal', path: join(this.dir, 'data') });
  }

  #runMigrator(xep0227Dir: string, stores: string[], input: { type: string; path: string }, output: { type: string; path: string }): void {
    const store = (name: string, c: { type: string; path: string }) => `${name} {
  type = ${lua(c.type)};
  path = ${lua(c.path)};
  hosts = { [${lua(this.domain)}] = { ${stores.map(lua).join(', ')} } };
}
`;
    writeFileSync(join(this.dir, 'migrator.cfg.lua'), store('input', input) + store('output', output));
    // As root it switches to the prosody user before it reads its config (run_as_root is not read).
    giveToProsody(this.dir);
    giveToProsody(xep0227Dir);
    const r = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /var/lib/prosody && exec prosody-migrator --config="$2"', 'sh', xep0227Dir, join(this.dir, 'migrator.cfg.lua')],
      { cwd: this.dir, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`prosody-migrator: ${r.stdout}${r.stderr}`);
  }

  logTail(): string {
    const f = join(this.dir, 'prosody.log');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-20).join('\n') : '';
  }
}

const EJABBERD_LIBS = '/usr/lib/x86_64-linux-gnu';

export class EjabberdPeer {
  readonly dir: string;
  /** Hosts served: the first with SCRAM credentials, the second with plaintext passwords. */
  readonly hosts = ['localhost', 'plain.example'];
  httpPort = 0;
  #child: ChildProcess | undefined;

  static unavailable(): string | undefined {
    if (!which('erl') || !existsSync('/usr/sbin/ejabberdctl')) return 'ejabberd is not installed (apt-get install ejabberd)';
    return undefined;
  }

  constructor(dir: string) {
    this.dir = dir;
  }

  async start(): Promise<void> {
    const d = this.dir;
    mkdirSync(join(d, 'spool'), { recursive: true });
    mkdirSync(join(d, 'logs'), { recursive: true });
    this.httpPort = await freePort();
    const q = (v: string) => JSON.stringify(v);
    // Its HTTP API on loopback only, open to loopback callers: the admin commands, no distribution.
    writeFileSync(join(d, 'ejabberd.yml'), `hosts: [${this.hosts.map(q).join(', ')}]
loglevel: warning
log_rotate_count: 0
listen:
  -
    port: ${this.httpPort}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha
host_config:
  ${q(this.hosts[1] as string)}:
    auth_password_format: plain
s2s_access: none
api_permissions:
  "loopback":
    from:
      - mod_http_api
    who:
      ip: 127.0.0.1/8
    what: "*"
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
modules:
  mod_roster: {}
  mod_offline: {}
  mod_vcard: {}
  mod_private: {}
  mod_http_api: {}
  mod_admin_extra: {}
`);
    // As ejabberdctl starts it, without its `su ejabberd` and without Erlang distribution.
    const env = {
      ...process.env,
      ERL_LIBS: EJABBERD_LIBS,
      EJABBERD_CONFIG_PATH: join(d, 'ejabberd.yml'),
      EJABBERD_LOG_PATH: join(d, 'logs', 'ejabberd.log'),
      ERL_CRASH_DUMP: join(d, 'logs', 'erl_crash.dump'),
      HOME: d,
    };
    const child = spawn('erl', ['-noinput', '-noshell', '-mnesia', 'dir', JSON.stringify(join(d, 'spool')), '-s', 'ejabberd'], { cwd: d, env, stdio: 'ignore' });
    this.#child = child;
    await until('ejabberd answers its HTTP API', async () => {
      if (child.exitCode !== null) throw new Error(`ejabberd exited (${child.exitCode}): ${this.logTail()}`);
      try {
        return (await this.api('status', {}, false)) !== undefined;
      } catch {
        return false;
      }
    }, 60_000, 250);
  }

  /** One admin command (the same as `ejabberdctl COMMAND`), through mod_http_api. */
  async api(command: string, args: Record<string, string>, check = true): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/api/${command}`, { method: 'POST', body: JSON.stringify(args) });
    const body: unknown = await res.json();
    if (check && (!res.ok || (typeof body === 'object' && body !== null && 'status' in body && (body as { status: string }).status === 'error'))) {
      throw new Error(`ejabberd ${command}: ${res.status} ${JSON.stringify(body)}`);
    }
    return body;
  }

  /** `export_piefxis DIR`: returns the main file (it includes one file per host). */
  async exportPiefxis(): Promise<string> {
    const out = join(this.dir, 'piefxis');
    mkdirSync(out, { recursive: true });
    await this.api('export_piefxis', { dir: out });
    const main = readdirSync(out).filter((n) => /^\d{8}-\d{6}\.xml$/.test(n));
    if (main.length !== 1) throw new Error(`export_piefxis wrote ${readdirSync(out).join(', ')}`);
    return join(out, main[0] as string);
  }

  async stop(): Promise<void> {
    if (this.#child) await stopChild(this.#child);
  }

  logTail(): string {
    const f = join(this.dir, 'logs', 'ejabberd.log');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-20).join('\n') : '';
  }
}
