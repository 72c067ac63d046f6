// Test support for the roster tests (RFC 6121 routing checked stanza by stanza, no sockets): one
// host with the real Router, SessionManager, module loader and an in-memory SQLite store, driven
// by fake client sessions. Named .fixture.ts: test support (ESLint lets fixtures reach those core internals), not a test file.
import pino from 'pino';
import { el, type Element } from '../../core/xml/element.ts';
import { parseJid, type Jid } from '../../core/jid.ts';
import type { SessionConnection, SessionInfo } from '../../core/session.ts';
import { SessionManager } from '../../core/sessions.ts';
import { Router } from '../../core/router.ts';
import { Accounts } from '../../core/accounts.ts';
import { HostRuntime, loadHostModules } from '../../core/module-loader.ts';
import type { AnyModule, ServerInfo } from '../../core/modules.ts';
import { SqliteBackend } from '../../storage/sqlite.ts';
import { testStorage } from '../../storage/test-storage.ts';
import { StanzaError, type StreamError } from '../../core/errors.ts';
import { errorReply } from '../../core/stanza-errors.ts';

/** A client's end of a session, as the c2s stream would be: it records what it was sent. */
export class FakeSession implements SessionConnection {
  readonly jid: Jid;
  readonly sent: Element[] = [];
  closed = false;
  readonly backedUp = false;
  #info: SessionInfo | undefined;

  constructor(jid: string) {
    this.jid = parseJid(jid);
  }

  /** The session as the directory knows it (after login). */
  get info(): SessionInfo {
    if (!this.#info) throw new Error(`${this.jid.toString()} is not bound`);
    return this.#info;
  }

  bind(info: SessionInfo): void {
    this.#info = info;
  }

  get presence(): Element | undefined {
    return this.info.presence;
  }

  get priority(): number {
    return this.info.priority;
  }

  send(stanza: Element): boolean {
    this.sent.push(stanza);
    return true;
  }

  close(_error?: StreamError): void {
    this.closed = true;
  }

  /** Removes and returns the stanzas received so far that match. */
  take(pred: (e: Element) => boolean = () => true): Element[] {
    const out: Element[] = [];
    for (let i = 0; i < this.sent.length; ) {
      const e = this.sent[i] as Element;
      if (pred(e)) {
        out.push(e);
        this.sent.splice(i, 1);
      } else i++;
    }
    return out;
  }
}

export const isPresence = (type?: string, from?: string) => (e: Element): boolean =>
  e.name === 'presence' && e.attrs['type'] === type && (from === undefined || e.attrs['from'] === from);
export const isPush = (e: Element): boolean => e.name === 'iq' && e.attrs['type'] === 'set' && e.getChild('query', 'jabber:iq:roster') !== undefined;

export class FakeHost {
  readonly host: string;
  readonly storage = testStorage(new SqliteBackend({ path: ':memory:' }));
  readonly sessions = new SessionManager();
  readonly rt: HostRuntime;
  readonly router: Router;
  readonly accounts: Accounts;
  #iqId = 0;

  constructor(host = 'example.com') {
    this.host = host;
    this.rt = new HostRuntime(host);
    this.accounts = new Accounts(this.storage, 4096);
    const log = pino({ level: 'silent' });
    this.router = new Router(this.sessions, this.accounts, (h) => (h === host ? this.rt.hooks : undefined), log);
  }

  static async start(modules: AnyModule[], options: Record<string, Record<string, unknown>> = {}, host?: string): Promise<FakeHost> {
    const h = new FakeHost(host);
    await h.storage.open();
    const server: ServerInfo = { name: 'JabberX', version: 'test', hosts: [h.host], isLocalHost: (d) => d === h.host };
    const registry = new Map(modules.map((m) => [m.name, m]));
    const cfg = { modules: new Map(modules.map((m) => [m.name, { options: options[m.name] ?? {}, lines: new Map<string, number>() }])) };
    await loadHostModules(h.rt, cfg, registry, { server, storage: h.storage, sessions: h.sessions, router: h.router, log: pino({ level: 'silent' }) });
    return h;
  }

  async stop(): Promise<void> {
    await this.rt.unload(pino({ level: 'silent' }));
    await this.storage.close();
  }

  async user(local: string): Promise<void> {
    if (!(await this.accounts.exists(this.host, local))) await this.accounts.create(this.host, local, 'secret');
  }

  /** Binds a session (the account is created if needed). */
  async login(local: string, resource = 'r1'): Promise<FakeSession> {
    await this.user(local);
    const s = new FakeSession(`${local}@${this.host}/${resource}`);
    s.bind(this.sessions.add(s));
    return s;
  }

  /** What the c2s stream does with a stanza from a bound client (errors bounce to the sender). */
  async send(s: FakeSession, stanza: Element): Promise<void> {
    const toAttr = stanza.attrs['to'];
    const to = toAttr ? parseJid(toAttr) : undefined;
    stanza.attrs['from'] = s.jid.toString();
    try {
      await this.router.fromClient(s.info, stanza, to);
    } catch (e) {
      if (!(e instanceof StanzaError)) throw e;
      s.send(errorReply(stanza, e, {}));
    }
  }

  async presence(s: FakeSession, attrs: Record<string, string> = {}, ...children: Element[]): Promise<void> {
    await this.send(s, el('presence', attrs, ...children));
  }

  /** Sends an iq and returns the reply addressed to it. */
  async iq(s: FakeSession, type: 'get' | 'set', payload: Element, to?: string): Promise<Element> {
    const id = `iq${++this.#iqId}`;
    await this.send(s, el('iq', { type, id, to }, payload));
    const [reply] = s.take((e) => e.name === 'iq' && e.attrs['id'] === id);
    if (!reply) throw new Error(`no reply to iq ${id}`);
    return reply;
  }

  /** The session goes away without saying unavailable (what the stream does on a dropped socket). */
  async drop(s: FakeSession): Promise<void> {
    const gone = this.sessions.remove(s);
    if (gone) await this.router.sessionClosed(gone);
  }
}
