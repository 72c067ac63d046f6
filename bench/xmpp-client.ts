// RFC 6120 §4–§7: a minimal XMPP client for the load generator. Plain TCP, STARTTLS (§5),
// SASL SCRAM-SHA-1 (§6, RFC 5802) and resource binding (§7), or in-band registration (XEP-0077)
// instead of the login; after that it hands every stanza to the caller as a string. No XML tree,
// no plugin machinery: a full client library would spend more CPU per stanza than the servers
// under test, and the generator shares their two cores.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ScramClient, type ScramKeys } from './scram-client.ts';
import { StanzaFramer, attr, childText, elementName, escapeXml } from './stanza-framer.ts';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const NS_REGISTER = 'jabber:iq:register';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

export interface XmppClientOptions {
  host: string;
  port: number;
  domain: string;
  user: string;
  password: string;
  resource: string;
  /** Derived SCRAM keys shared by all clients of a worker (RFC 5802 §5.1 client-side caching). */
  keyCache?: Map<string, ScramKeys>;
  /** Source address (127.0.0.x) when one address has too few ephemeral ports. */
  localAddress?: string;
  /** Whole login (connect to bound resource) must finish within this. */
  timeoutMs?: number;
  /** Enable XEP-0198 (with resumption) after binding, and answer the server's <r/>. */
  streamManagement?: boolean;
  /**
   * The identities and features this client answers disco#info queries with (XEP-0030), e.g.
   * a server asking what the 'ver' of its XEP-0115 caps stands for; without it they are refused.
   */
  discoInfo?: string;
}

export class XmppError extends Error {
  kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
  }
}

interface PendingIq {
  resolve(xml: string): void;
  reject(e: Error): void;
}

export class XmppClient {
  readonly opts: XmppClientOptions;
  readonly bare: string;
  jid = '';
  /** Negotiated TLS protocol and cipher, for the report. */
  tlsProtocol = '';
  tlsCipher = '';
  /** Every stanza once the session is bound (iq results for iq() calls excepted). */
  onStanza: ((xml: string, name: string) => void) | undefined;
  /** disco#info queries answered (servers learning this client's caps). */
  discoAnswered = 0;
  /** The connection ended (after a successful login). */
  onClosed: ((err: Error | undefined) => void) | undefined;

  #raw: Socket | undefined;
  #tls: TLSSocket | undefined;
  #framer: StanzaFramer;
  #queue: string[] = [];
  #waiter: { resolve(xml: string): void; reject(e: Error): void } | undefined;
  #ready = false;
  #sm = false;
  #handled = 0;
  #closed = false;
  #closing = false;
  #closeError: Error | undefined;
  #iqs = new Map<string, PendingIq>();
  #nextId = 0;
  #closedPromise: Promise<void>;
  #markClosed!: () => void;

  constructor(opts: XmppClientOptions) {
    this.opts = opts;
    this.bare = `${opts.user}@${opts.domain}`;
    this.#framer = new StanzaFramer({
      onOpen: () => {},
      onElement: (xml) => this.#element(xml),
      onClose: () => this.#end(this.#closing ? undefined : new XmppError('stream-closed', 'the server closed the stream')),
    });
    this.#closedPromise = new Promise((r) => (this.#markClosed = r));
  }

  get ready(): boolean {
    return this.#ready && !this.#closed;
  }

  /** TCP, then STARTTLS (RFC 6120 §5.4.2, the first thing negotiated); the features of the secured stream. */
  async #secureStream(): Promise<string> {
    const o = this.opts;
    const raw = tcpConnect({ host: o.host, port: o.port, localAddress: o.localAddress, noDelay: true });
    this.#raw = raw;
    const onRaw = (b: Buffer) => this.#framer.push(b.toString('latin1'));
    raw.on('data', onRaw);
    raw.on('error', (e) => this.#end(new XmppError('socket', e.message)));
    raw.on('close', () => this.#end(this.#closing ? undefined : new XmppError('socket', 'connection closed')));
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });

    // RFC 6120 §5.4.2: STARTTLS is the first thing negotiated.
    const features = await this.#openStream();
    if (!features.includes('<starttls')) throw new XmppError('features', 'the server offers no STARTTLS');
    this.send(`<starttls xmlns='${NS_TLS}'/>`);
    const proceed = await this.#next();
    if (elementName(proceed) !== 'proceed') throw new XmppError('tls', `STARTTLS refused: ${proceed.slice(0, 80)}`);
    raw.off('data', onRaw);
    this.#framer.reset();
    const secure = tlsConnect({ socket: raw, servername: o.domain, rejectUnauthorized: false });
    this.#tls = secure;
    secure.setEncoding('utf8');
    secure.on('data', (s: string) => this.#framer.push(s));
    secure.on('error', (e) => this.#end(new XmppError('tls', e.message)));
    secure.on('close', () => this.#end(this.#closing ? undefined : new XmppError('socket', 'connection closed')));
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.tlsProtocol = secure.getProtocol() ?? '';
    this.tlsCipher = secure.getCipher().name;
    return this.#openStream();
  }

  /** Connect, STARTTLS, SCRAM-SHA-1, bind. Rejects with an XmppError on any failure. */
  async connect(): Promise<void> {
    const o = this.opts;
    const timer = setTimeout(() => this.#end(new XmppError('timeout', `login not done within ${o.timeoutMs ?? 60000} ms`)), o.timeoutMs ?? 60000);
    try {
      let features = await this.#secureStream();

      // RFC 6120 §6: SASL, SCRAM-SHA-1 only (the mechanism every server here offers).
      if (!/<mechanism>SCRAM-SHA-1<\/mechanism>/.test(features)) throw new XmppError('features', 'the server offers no SCRAM-SHA-1');
      const scram = new ScramClient(o.user, o.password, o.keyCache);
      this.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${scram.first()}</auth>`);
      let reply = await this.#next();
      if (elementName(reply) !== 'challenge') throw new XmppError('auth', `SASL: ${saslCondition(reply)}`);
      this.send(`<response xmlns='${NS_SASL}'>${scram.final(childText(reply, 'challenge') ?? '')}</response>`);
      reply = await this.#next();
      if (elementName(reply) === 'challenge') {
        // Servers from before RFC 6120 send the server-final-message as a challenge.
        if (!scram.verify(childText(reply, 'challenge') ?? '')) throw new XmppError('auth', 'bad server signature');
        this.send(`<response xmlns='${NS_SASL}'/>`);
        reply = await this.#next();
        if (elementName(reply) !== 'success') throw new XmppError('auth', `SASL: ${saslCondition(reply)}`);
      } else if (elementName(reply) === 'success') {
        if (!scram.verify(childText(reply, 'success') ?? '')) throw new XmppError('auth', 'bad server signature');
      } else {
        throw new XmppError('auth', `SASL: ${saslCondition(reply)}`);
      }

      // RFC 6120 §7: bind a resource; legacy session establishment only when it is mandatory.
      this.#framer.reset();
      features = await this.#openStream();
      if (!features.includes(NS_BIND)) throw new XmppError('features', 'the server offers no resource binding');
      this.send(`<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>${escapeXml(o.resource)}</resource></bind></iq>`);
      reply = await this.#next();
      if (attr(reply, 'type') !== 'result') throw new XmppError('bind', `bind failed: ${reply.slice(0, 200)}`);
      this.jid = childText(reply, 'jid') ?? '';
      const session = features.indexOf(NS_SESSION);
      if (session >= 0 && !/<optional\s*\/>/.test(features.slice(session))) {
        this.send(`<iq type='set' id='sess1'><session xmlns='${NS_SESSION}'/></iq>`);
        reply = await this.#next();
        if (attr(reply, 'type') !== 'result') throw new XmppError('bind', 'session establishment failed');
      }
      if (o.streamManagement) {
        this.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        const enabled = await this.#next();
        if (elementName(enabled) !== 'enabled') throw new XmppError('sm', `stream management not enabled: ${enabled.slice(0, 200)}`);
        this.#sm = true;
      }
      this.#ready = true;
      // Stanzas that arrived right behind the bind result.
      for (const xml of this.#queue.splice(0)) this.#dispatch(xml);
    } catch (e) {
      this.#end(e instanceof XmppError ? e : new XmppError('other', (e as Error).message));
      throw this.#closeError ?? e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * XEP-0077 §3.1: connect, STARTTLS, then register the account (user, password of the options)
   * on the unauthenticated stream. Resolves with the milliseconds the registration IQ took.
   */
  async register(): Promise<number> {
    const o = this.opts;
    const timer = setTimeout(() => this.#end(new XmppError('timeout', `registration not done within ${o.timeoutMs ?? 60000} ms`)), o.timeoutMs ?? 60000);
    try {
      await this.#secureStream();
      const t0 = performance.now();
      this.send(
        `<iq type='set' id='reg1'><query xmlns='${NS_REGISTER}'><username>${escapeXml(o.user)}</username>` +
          `<password>${escapeXml(o.password)}</password></query></iq>`,
      );
      const reply = await this.#next();
      const took = performance.now() - t0;
      if (elementName(reply) !== 'iq' || attr(reply, 'type') !== 'result') throw new XmppError('register', `registration refused: ${reply.slice(0, 300)}`);
      return took;
    } catch (e) {
      this.#end(e instanceof XmppError ? e : new XmppError('other', (e as Error).message));
      throw this.#closeError ?? e;
    } finally {
      clearTimeout(timer);
    }
  }

  send(xml: string): void {
    if (this.#closed) return;
    if (this.#tls) this.#tls.write(xml);
    else this.#raw?.write(xml);
  }

  /** Send an iq (its id is chosen here) and wait for its result or error. */
  iq(type: 'get' | 'set', payload: string, to?: string): Promise<string> {
    const id = `q${++this.#nextId}`;
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(this.#closeError ?? new XmppError('closed', 'connection closed'));
        return;
      }
      this.#iqs.set(id, { resolve, reject });
      this.send(`<iq type='${type}' id='${id}'${to ? ` to='${escapeXml(to)}'` : ''}>${payload}</iq>`);
    });
  }

  /** Close the stream politely; the socket is destroyed if the server does not answer in time. */
  async close(graceMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    this.send('</stream:stream>');
    const sock = this.#tls ?? this.#raw;
    sock?.end();
    const t = setTimeout(() => this.#end(undefined), graceMs);
    await this.#closedPromise;
    clearTimeout(t);
  }

  /** Drop the connection at once (fast teardown of thousands of idle sessions). */
  destroy(): void {
    this.#end(undefined);
  }

  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  async #openStream(): Promise<string> {
    this.send(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' ` +
        `to='${escapeXml(this.opts.domain)}' version='1.0' xml:lang='en'>`,
    );
    const features = await this.#next();
    const name = elementName(features);
    if (name === 'stream:error') throw new XmppError('stream-error', `stream error: ${features.slice(0, 200)}`);
    if (name !== 'stream:features' && name !== 'features') throw new XmppError('features', `expected features, got ${name}`);
    return features;
  }

  #next(): Promise<string> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(this.#closeError ?? new XmppError('closed', 'connection closed'));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  #element(xml: string): void {
    if (this.#ready) {
      this.#dispatch(xml);
      return;
    }
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      if (elementName(xml) === 'stream:error') w.reject(new XmppError('stream-error', `stream error: ${xml.slice(0, 200)}`));
      else w.resolve(xml);
    } else {
      this.#queue.push(xml);
    }
  }

  #dispatch(xml: string): void {
    const name = elementName(xml);
    if (this.#sm) {
      // XEP-0198 §4: count what arrives; answer <r/>; acks from the server need nothing.
      if (name === 'message' || name === 'presence' || name === 'iq') this.#handled = (this.#handled + 1) % 2 ** 32;
      else if (name === 'r') return this.send(`<a xmlns='urn:xmpp:sm:3' h='${String(this.#handled)}'/>`);
      else if (name === 'a') return;
    }
    if (name === 'iq') {
      const type = attr(xml, 'type');
      if (type === 'result' || type === 'error') {
        const id = attr(xml, 'id');
        const p = id !== undefined ? this.#iqs.get(id) : undefined;
        if (p && id !== undefined) {
          this.#iqs.delete(id);
          p.resolve(xml);
          return;
        }
      } else {
        // RFC 6120 §8.2.3: every get/set gets an answer. Roster pushes (RFC 6121 §2.1.6) and
        // pings (XEP-0199) are acknowledged; anything else is refused.
        const id = attr(xml, 'id') ?? '';
        const from = attr(xml, 'from');
        const to = from ? ` to='${escapeXml(from)}'` : '';
        if (xml.includes('jabber:iq:roster') || xml.includes('urn:xmpp:ping')) {
          this.send(`<iq type='result' id='${escapeXml(id)}'${to}/>`);
        } else if (this.opts.discoInfo !== undefined && type === 'get' && xml.includes(NS_DISCO_INFO)) {
          // XEP-0115 §6.2: the answer carries the node of the query (node#ver).
          const node = /<query\s[^>]*node=(?:'([^']*)'|"([^"]*)")/.exec(xml);
          const nodeAttr = node ? ` node='${node[1] ?? node[2] ?? ''}'` : '';
          this.discoAnswered++;
          this.send(`<iq type='result' id='${escapeXml(id)}'${to}><query xmlns='${NS_DISCO_INFO}'${nodeAttr}>${this.opts.discoInfo}</query></iq>`);
        } else {
          this.send(
            `<iq type='error' id='${escapeXml(id)}'${to}><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
          );
        }
      }
    } else if (name === 'stream:error') {
      this.#end(new XmppError('stream-error', `stream error: ${xml.slice(0, 200)}`));
      return;
    }
    this.onStanza?.(xml, name);
  }

  #end(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err;
    this.#tls?.destroy();
    this.#raw?.destroy();
    const e = err ?? new XmppError('closed', 'connection closed');
    this.#waiter?.reject(e);
    this.#waiter = undefined;
    for (const p of this.#iqs.values()) p.reject(e);
    this.#iqs.clear();
    const wasReady = this.#ready;
    this.#markClosed();
    if (wasReady) this.onClosed?.(err);
  }
}

function saslCondition(xml: string): string {
  const m = /<failure[^>]*>\s*<([a-z-]+)/.exec(xml);
  return m?.[1] ?? xml.slice(0, 120);
}
