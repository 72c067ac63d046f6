// Test harness: drives test/interop/slix_driver.py, a Debian python3-slixmpp client, the second
// independent XMPP client implementation (RFC 6120 / RFC 6121) of the end-to-end tests.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './paths.ts';
import { TEST_CA_FILE } from './test-ca.ts';

const DRIVER = join(REPO_ROOT, 'test', 'interop', 'slix_driver.py');

/**
 * Debian's python3-slixmpp lives in the system interpreter; a python3 earlier on PATH (pyenv,
 * venv) would not see it. JABBERX_PYTHON overrides.
 */
export function pythonBinary(): string {
  const fromEnv = process.env['JABBERX_PYTHON'];
  if (fromEnv) return fromEnv;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Why slixmpp cannot run here, or undefined when it can (for `{ skip }` in tests). */
export function slixmppUnavailable(): string | undefined {
  const r = spawnSync(pythonBinary(), ['-c', 'import slixmpp'], { encoding: 'utf8' });
  if (r.error) return `python3 not found (${r.error.message})`;
  return r.status === 0 ? undefined : 'python3-slixmpp is not installed (apt-get install python3-slixmpp)';
}

export interface SlixConnectOptions {
  /** Bare JID. */
  jid: string;
  password: string;
  port: number;
  host?: string;
  resource?: string;
  directTls?: boolean;
  /** Restricts SASL to this mechanism (slixmpp's own `sasl_mech` setting), e.g. 'PLAIN'. */
  mechanism?: string;
  /** Caps the client process at TLS 1.2 through its OpenSSL configuration (the client is unchanged). */
  tlsMax?: 'TLSv1.2';
  timeoutS?: number;
}

export interface SlixStanza {
  event: 'stanza';
  name: string;
  ns: string;
  type: string | null;
  from: string | null;
  to: string | null;
  id: string | null;
  body: string | null;
  xml: string;
}

export type SlixEvent =
  | SlixStanza
  | { event: 'failed_auth'; mechanism: string | null; condition: string }
  | { event: 'stream_error'; condition: string; text: string }
  | { event: 'disconnected'; reason: string | null }
  | { event: 'connection_failed'; reason: string }
  | { event: 'driver_error'; error: string };

export interface RosterItem {
  jid: string;
  name: string | null;
  subscription: string;
  ask: string | null;
  groups: string[];
}

export type MucJoinResult =
  | { error: string; xml: string }
  | { error?: undefined; xml: string; statusCodes: number[]; affiliation: string; role: string; subject: string; occupants: string[]; history: string[] };

export interface AdhocStep {
  action?: 'complete' | 'next' | 'prev' | 'cancel';
  fields?: Record<string, string | string[]>;
  /** Seconds to wait before answering. */
  delay?: number;
}

export interface AdhocResponse {
  type: string;
  status: string | null;
  sessionid: string | null;
  node: string | null;
  actions: string[];
  execute: string | null;
  notes: [type: string, text: string][];
  form?: { type: string; fields: Record<string, { type: string; label: string; value: string | string[] }> };
  error?: string;
  error_type?: string;
  error_app?: string[];
  xml: string;
}

type Reply = Record<string, unknown> & { id: number; ok: boolean; error?: string };

export class SlixClient {
  #proc: ChildProcessWithoutNullStreams;
  #nextId = 1;
  #pending = new Map<number, (r: Reply) => void>();
  #waiters = new Set<() => void>();
  #consumed = new WeakSet<SlixEvent>();
  #exited: Promise<void>;
  /** Every event the driver reported, in order. */
  readonly events: SlixEvent[] = [];
  stderr = '';
  /** The bound full JID after connect(). */
  jid = '';
  /** The SASL mechanism used and the TLS version, after connect(). */
  mechanism: string | null = null;
  tlsVersion: string | null = null;

  constructor(opts: { tlsMax?: 'TLSv1.2' } = {}) {
    // The system trusts the test CA (SSL_CERT_FILE), so slixmpp verifies the server as it would
    // in production; a TLS cap comes from the OpenSSL configuration, like an older system's.
    const env: NodeJS.ProcessEnv = { ...process.env, SSL_CERT_FILE: TEST_CA_FILE };
    if (opts.tlsMax) env['OPENSSL_CONF'] = join(REPO_ROOT, 'test', 'fixtures', 'tls', 'openssl-max-tls12.cnf');
    this.#proc = spawn(pythonBinary(), ['-B', DRIVER], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#proc.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.#exited = new Promise((r) => this.#proc.once('exit', () => r()));
    void this.#exited.then(() => {
      for (const [, resolve] of this.#pending) resolve({ id: 0, ok: false, error: `driver exited: ${this.stderr}` });
      this.#pending.clear();
    });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.stderr += `[non-JSON] ${line}\n`;
        return;
      }
      if (typeof msg['id'] === 'number') {
        const resolve = this.#pending.get(msg['id']);
        this.#pending.delete(msg['id']);
        resolve?.(msg as Reply);
      } else if (typeof msg['event'] === 'string') {
        this.events.push(msg as unknown as SlixEvent);
        for (const w of [...this.#waiters]) w();
      }
    });
  }

  /** Sends a command and resolves with its reply (rejects when the reply says ok: false). */
  async command(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Reply> {
    const id = this.#nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`slixmpp ${cmd}: no reply after ${String(timeoutMs)} ms\n${this.stderr}`));
      }, timeoutMs);
      this.#pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.#proc.stdin.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
    if (!reply.ok) throw new Error(`slixmpp ${cmd}: ${reply.error ?? 'failed'}`);
    return reply;
  }

  async connect(o: SlixConnectOptions): Promise<string> {
    const reply = await this.command(
      'connect',
      {
        jid: o.jid,
        password: o.password,
        host: o.host ?? '127.0.0.1',
        port: o.port,
        resource: o.resource,
        direct_tls: o.directTls ?? false,
        mechanism: o.mechanism,
        timeout: o.timeoutS ?? 20,
      },
      ((o.timeoutS ?? 20) + 10) * 1000,
    );
    this.jid = String(reply['jid']);
    this.mechanism = typeof reply['mechanism'] === 'string' ? reply['mechanism'] : null;
    this.tlsVersion = typeof reply['tls_version'] === 'string' ? reply['tls_version'] : null;
    return this.jid;
  }

  async sendMessage(to: string, body: string, type = 'chat'): Promise<void> {
    await this.command('send_message', { to, body, type });
  }

  async sendPresence(p: { to?: string; type?: string; show?: string; status?: string; priority?: number } = {}): Promise<void> {
    await this.command('send_presence', p);
  }

  async subscribe(jid: string, type: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed' = 'subscribe'): Promise<void> {
    await this.command('subscribe', { jid, type });
  }

  async sendRaw(xml: string): Promise<void> {
    await this.command('send_raw', { xml });
  }

  /**
   * XEP-0363 through slixmpp's xep_0363 plugin (disco of the account's domain, slot, PUT with
   * aiohttp): the download URL, or the plugin's exception name and the IQ error condition if any.
   */
  async uploadFile(path: string, contentType?: string): Promise<{ url?: string; error?: string; condition?: string | null; detail?: string }> {
    const r = await this.command('upload_file', { path, content_type: contentType });
    if (typeof r['url'] === 'string') return { url: r['url'] };
    return { error: String(r['error']), condition: (r['condition'] as string | null) ?? null, detail: String(r['detail']) };
  }

  /** Sends an iq (XML text; jabber:client is implied) and returns the reply's type and XML. */
  async iq(xml: string): Promise<{ type: string; xml: string }> {
    const r = await this.command('iq', { xml });
    return { type: String(r['type']), xml: String(r['xml']) };
  }

  async rosterGet(): Promise<{ items: RosterItem[]; ver: string | null }> {
    const r = await this.command('roster_get');
    return { items: r['items'] as RosterItem[], ver: (r['ver'] as string | null) ?? null };
  }

  async rosterSet(jid: string, item: { name?: string; groups?: string[]; remove?: boolean } = {}): Promise<void> {
    await this.command('roster_set', { jid, ...item });
  }

  /**
   * The first event matching `pred` not yet consumed (earlier events included); rejects after
   * timeoutMs (default 5000).
   */
  waitFor(pred: (e: SlixEvent) => boolean, timeoutMs = 5000, what = 'a matching event'): Promise<SlixEvent> {
    const find = (): SlixEvent | undefined => {
      const e = this.events.find((x) => !this.#consumed.has(x) && pred(x));
      if (e) this.#consumed.add(e);
      return e;
    };
    const now = find();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const e = find();
        if (!e) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const recent = this.events.slice(-5).map((e) => JSON.stringify(e).slice(0, 300)).join('\n  ');
        reject(new Error(`slixmpp ${this.jid}: timed out after ${String(timeoutMs)} ms waiting for ${what}; last events:\n  ${recent}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** A stanza with this element name (and optionally from/type/body). */
  waitForStanza(f: { name: string; from?: string; type?: string | null; body?: string }, timeoutMs?: number): Promise<SlixStanza> {
    return this.waitFor(
      (e) =>
        e.event === 'stanza' &&
        e.name === f.name &&
        (f.from === undefined || e.from === f.from || (e.from ?? '').startsWith(`${f.from}/`)) &&
        (f.type === undefined || e.type === f.type) &&
        (f.body === undefined || e.body === f.body),
      timeoutMs,
      JSON.stringify(f),
    ) as Promise<SlixStanza>;
  }

  /**
   * XEP-0045 §7.2 with slixmpp's xep_0045 join_muc_wait: the self-presence's codes, affiliation
   * and role, the subject, the occupants seen before it and the history; or the error condition.
   */
  async mucJoin(room: string, nick: string, o: { password?: string; maxstanzas?: number } = {}): Promise<MucJoinResult> {
    const r = await this.command('muc_join', { room, nick, password: o.password, maxstanzas: o.maxstanzas });
    if (typeof r['error_condition'] === 'string') return { error: r['error_condition'], xml: String(r['xml']) };
    return {
      xml: String(r['xml']),
      statusCodes: r['status_codes'] as number[],
      affiliation: String(r['affiliation']),
      role: String(r['role']),
      subject: String(r['subject']),
      occupants: r['occupants'] as string[],
      history: r['history'] as string[],
    };
  }

  async mucMessage(room: string, body: string): Promise<void> {
    await this.command('muc_message', { room, body });
  }

  /** XEP-0045 §10.2 with get_room_config / set_room_config; returns the vars of the form it got. */
  async mucConfigure(room: string, fields: Record<string, string | boolean | string[]>): Promise<string[]> {
    const r = await this.command('muc_configure', { room, fields });
    return r['fields'] as string[];
  }

  async mucNick(room: string, nick: string): Promise<void> {
    await this.command('muc_nick', { room, nick });
  }

  async mucLeave(room: string, nick: string, status?: string): Promise<void> {
    await this.command('muc_leave', { room, nick, status });
  }

  /** XEP-0050 §2.2 with slixmpp's xep_0050 plugin: the commands `jid` (default: the server) lists. */
  async adhocList(jid?: string): Promise<{ commands: { node: string; name: string }[]; error?: string }> {
    const r = await this.command('adhoc_list', { jid });
    return { commands: r['commands'] as { node: string; name: string }[], ...(typeof r['error'] === 'string' ? { error: r['error'] } : {}) };
  }

  /**
   * Runs a command with slixmpp's own workflow (xep_0133's method for `admin`, else xep_0050's
   * start_command on `node`), answering each form with the next of `steps`; resolves with every
   * response slixmpp saw.
   */
  async adhocRun(o: { admin?: string; node?: string; jid?: string; steps?: AdhocStep[]; timeoutS?: number }): Promise<AdhocResponse[]> {
    const r = await this.command('adhoc_run', { admin: o.admin, node: o.node, jid: o.jid, steps: o.steps ?? [], timeout: o.timeoutS ?? 20 }, ((o.timeoutS ?? 20) + 10) * 1000);
    return r['responses'] as AdhocResponse[];
  }

  async disconnect(): Promise<void> {
    await this.command('disconnect').catch(() => undefined);
  }

  /** Disconnects and ends the driver process. Never throws. */
  async close(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
      await this.command('quit', {}, 10_000).catch(() => undefined);
      this.#proc.stdin.end();
      const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}

/** Starts a driver and connects it; the driver is closed when `t` ends (or on failure). */
export async function connectSlix(t: TestContext | undefined, o: SlixConnectOptions): Promise<SlixClient> {
  const c = new SlixClient(o.tlsMax ? { tlsMax: o.tlsMax } : {});
  t?.after(() => c.close());
  try {
    await c.connect(o);
  } catch (e) {
    if (!t) await c.close();
    throw e;
  }
  return c;
}
