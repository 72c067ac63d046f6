// A client-to-server stream (RFC 6120 §4–§7): header exchange, STARTTLS, SASL, resource binding,
// then stanza validation and hand-off to the router.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { el, Element } from './xml/element.ts';
import { StreamParser } from './xml/parser.ts';
import { StanzaError, StreamError } from './errors.ts';
import { Jid, JidError, parseJid, prepResourcepart, tryParseJid } from './jid.ts';
import type { XmlTransport } from './transport.ts';
import type { Session } from './session.ts';
import { channelBindingTypes, mechanismsFeature, NS_SASL, offeredMechanisms, SaslExchange, type SaslStep } from './sasl.ts';
import type { ServerCore } from './server-core.ts';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_CLIENT = 'jabber:client';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const MAX_AUTH_FAILURES = 5;

type State = 'header' | 'tls-starting' | 'negotiating' | 'closed';

export class C2sStream {
  readonly #core: ServerCore;
  readonly #transport: XmlTransport;
  readonly #parser: StreamParser;
  /** One logger for all client streams (a child logger per connection would cost memory). */
  get #log(): Logger {
    return this.#core.c2sLog;
  }
  #state: State = 'header';
  #headerSent = false;
  #host: string | undefined;
  #user: string | undefined;
  #session: ClientSession | undefined;
  #sasl: SaslExchange | undefined;
  #authFailures = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** Stanzas are processed one at a time, in order (RFC 6120 §10.1 in-order processing). */
  #queue: Promise<void> = Promise.resolve();

  constructor(core: ServerCore, transport: XmlTransport) {
    this.#core = core;
    this.#transport = transport;
    this.#parser = new StreamParser(
      {
        streamStart: (attrs, name) => this.#onHeader(attrs, name),
        element: (e) => this.#enqueue(e),
        streamEnd: () => this.#onStreamEnd(),
        error: (err) => this.#fail(err),
        keepalive: () => this.#touch(),
      },
      { maxStanzaSize: core.config.limits.maxStanzaSize },
    );
    transport.onData((chunk) => {
      this.#touch();
      this.#parser.write(chunk);
    });
    transport.onClose(() => void this.#onTransportClosed());
    this.#handshakeTimer = setTimeout(() => this.#fail(new StreamError('connection-timeout', 'Authentication took too long')), core.config.limits.handshakeTimeoutMs);
    this.#handshakeTimer.unref();
    this.#touch();
  }

  #touch(): void {
    if (this.#idleTimer) this.#idleTimer.refresh();
    else {
      this.#idleTimer = setTimeout(() => this.#fail(new StreamError('connection-timeout')), this.#core.config.limits.idleTimeoutMs);
      this.#idleTimer.unref();
    }
  }

  #write(data: string): void {
    if (this.#state === 'closed') return;
    this.#transport.write(data);
  }

  send(stanza: Element): void {
    this.#write(stanza.toString());
  }

  /** The peer address, for IP blocks only: never logged or stored. */
  get peerAddress(): string | undefined {
    return this.#transport.peerAddress;
  }

  #sendHeader(id: string): void {
    const from = this.#host ?? this.#core.defaultHost;
    this.#write(`<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' id='${id}' from='${from}' version='1.0' xml:lang='en'>`);
    this.#headerSent = true;
  }

  /** Ends the stream with an error (RFC 6120 §4.9): header first if we haven't sent one. */
  #fail(err: StreamError): void {
    if (this.#state === 'closed') return;
    if (!this.#headerSent) this.#sendHeader(randomBytes(12).toString('base64url'));
    this.#log.debug({ condition: err.condition }, 'stream error');
    this.#write(err.toElement().toString() + '</stream:stream>');
    this.#close();
  }

  close(err?: StreamError): void {
    if (err) this.#fail(err);
    else {
      this.#write('</stream:stream>');
      this.#close();
    }
  }

  #close(): void {
    this.#state = 'closed';
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#handshakeTimer);
    this.#transport.end();
    // A client that never closes its side is cut off after a grace period.
    setTimeout(() => this.#transport.destroy(), 2000).unref();
  }

  #onHeader(attrs: Record<string, string>, name: string): void {
    if (this.#state !== 'header') return this.#fail(new StreamError('not-well-formed', 'Unexpected stream header'));
    const to = attrs['to'];
    const host = to === undefined ? undefined : this.#core.prepHost(to);
    if (!host) {
      this.#host = undefined;
      return this.#fail(new StreamError('host-unknown', 'This server does not serve that domain'));
    }
    if (this.#host && host !== this.#host) return this.#fail(new StreamError('host-unknown', 'The domain changed during negotiation'));
    this.#host = host;
    if (name !== 'stream:stream' && !name.endsWith(':stream') && name !== 'stream') return this.#fail(new StreamError('invalid-namespace'));
    if ((attrs['xmlns'] ?? NS_CLIENT) !== NS_CLIENT) return this.#fail(new StreamError('invalid-namespace', 'Client streams use jabber:client'));
    const version = attrs['version'];
    if (version === undefined || Number.parseInt(version.split('.')[0] ?? '0', 10) < 1) {
      return this.#fail(new StreamError('unsupported-version', 'XMPP 1.0 streams only'));
    }
    this.#sendHeader(randomBytes(12).toString('base64url'));
    this.#state = 'negotiating';
    this.#write(this.#features().toString());
  }

  #features(): Element {
    const f = el('stream:features');
    const t = this.#transport;
    if (!t.secure) {
      // Authentication only after TLS: STARTTLS is required and nothing else is offered.
      if (t.canStartTls) f.append(el('starttls', { xmlns: NS_TLS }, el('required')));
      return f;
    }
    if (this.#user === undefined) {
      const cb = channelBindingTypes(t);
      f.append(...mechanismsFeature(offeredMechanisms(this.#core.config.auth.mechanisms, t), cb));
      return f;
    }
    f.append(el('bind', { xmlns: NS_BIND }), el('session', { xmlns: NS_SESSION }, el('optional')));
    for (const feature of this.#core.host(this.#host ?? '')?.streamFeatures ?? []) f.append(feature());
    return f;
  }

  #enqueue(e: Element): void {
    this.#queue = this.#queue.then(() => this.#onElement(e)).catch((err: unknown) => {
      this.#log.error({ err }, 'stream handler failed');
      this.#fail(new StreamError('internal-server-error'));
    });
  }

  async #onElement(e: Element): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state !== 'negotiating') return this.#fail(new StreamError('not-authorized'));
    const ns = e.attrs['xmlns'];
    if (e.name === 'starttls' && ns === NS_TLS) return this.#startTls();
    if (!this.#transport.secure) {
      if (ns === NS_SASL && e.name === 'auth') {
        this.#write(el('failure', { xmlns: NS_SASL }, el('encryption-required')).toString());
        return;
      }
      return this.#fail(new StreamError('not-authorized', 'Negotiate TLS first'));
    }
    if (ns === NS_SASL) return this.#onSasl(e);
    if (this.#user === undefined) return this.#fail(new StreamError('not-authorized', 'Authenticate first'));
    if (e.name !== 'message' && e.name !== 'presence' && e.name !== 'iq') {
      return this.#fail(new StreamError('unsupported-stanza-type'));
    }
    if (ns !== undefined && ns !== NS_CLIENT) return this.#fail(new StreamError('invalid-namespace'));
    if (!this.#session) return this.#beforeBind(e);
    return this.#onStanza(this.#session, e);
  }

  async #startTls(): Promise<void> {
    const t = this.#transport;
    if (t.secure || !t.canStartTls) {
      this.#write(el('failure', { xmlns: NS_TLS }).toString() + '</stream:stream>');
      return this.#close();
    }
    this.#write(el('proceed', { xmlns: NS_TLS }).toString());
    this.#state = 'tls-starting';
    try {
      await t.startTls(this.#host ?? this.#core.defaultHost);
    } catch {
      // The TLS handshake failed (e.g. a TLS 1.1 client): nothing more can be said on this socket.
      this.#state = 'closed';
      t.destroy();
      return;
    }
    this.#parser.reset();
    this.#state = 'header';
  }

  async #onSasl(e: Element): Promise<void> {
    if (this.#user !== undefined) return this.#fail(new StreamError('policy-violation', 'Already authenticated'));
    const host = this.#host ?? this.#core.defaultHost;
    let step: SaslStep;
    const peer = this.#transport.peerAddress;
    if (e.name === 'auth') {
      const mech = e.attrs['mechanism'] ?? '';
      const offered = offeredMechanisms(this.#core.config.auth.mechanisms, this.#transport);
      if (this.#core.throttle.check(peer).refuse) {
        step = { kind: 'failure', condition: 'temporary-auth-failure', text: 'Too many failed logins from your address; try again later' };
      } else if (!offered.includes(mech)) {
        step = { kind: 'failure', condition: 'invalid-mechanism' };
      } else {
        this.#sasl = new SaslExchange(mech, host, this.#core.accounts, this.#transport, offered, channelBindingTypes(this.#transport), {
          iterations: this.#core.config.auth.scramIterations,
          unknownUserSecret: this.#core.secret,
        });
        const data = decodeSaslPayload(e.text());
        step = data === null ? { kind: 'failure', condition: 'incorrect-encoding' } : await this.#sasl.start(data);
      }
    } else if (e.name === 'response' && this.#sasl) {
      const data = decodeSaslPayload(e.text());
      step = data === null ? { kind: 'failure', condition: 'incorrect-encoding' } : await this.#sasl.step(data ?? Buffer.alloc(0));
    } else if (e.name === 'abort') {
      step = { kind: 'failure', condition: 'aborted' };
    } else {
      step = { kind: 'failure', condition: 'malformed-request' };
    }
    if (step.kind === 'success' && this.#core.throttle.accountLocked(`${step.user}@${host}`, peer)) {
      step = { kind: 'failure', condition: 'temporary-auth-failure', text: 'Too many failed logins for this account; try again later' };
    }
    if (step.kind === 'failure' && step.condition === 'not-authorized') {
      const user = this.#sasl?.username;
      this.#core.throttle.failed(peer, user === undefined ? undefined : `${user}@${host}`);
      const verdict = this.#core.throttle.check(peer);
      // Slow down guessing: the failure answer waits longer after each failure past the threshold.
      if (!verdict.refuse && verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
    }
    switch (step.kind) {
      case 'challenge':
        this.#write(el('challenge', { xmlns: NS_SASL }, step.data.length ? step.data.toString('base64') : '=').toString());
        return;
      case 'failure':
        this.#sasl = undefined;
        this.#write(el('failure', { xmlns: NS_SASL }, el(step.condition), step.text ? el('text', { 'xml:lang': 'en' }, step.text) : null).toString());
        if (step.condition === 'not-authorized' && ++this.#authFailures >= MAX_AUTH_FAILURES) {
          this.#fail(new StreamError('policy-violation', 'Too many failed authentication attempts'));
        }
        return;
      case 'success':
        this.#sasl = undefined;
        this.#user = step.user;
        this.#write(el('success', { xmlns: NS_SASL }, step.data?.length ? step.data.toString('base64') : null).toString());
        this.#log.debug({ host }, 'authenticated');
        this.#parser.reset();
        this.#state = 'header';
        return;
    }
  }

  /** Only resource binding (RFC 6120 §7) and the legacy session request are allowed before bind. */
  async #beforeBind(e: Element): Promise<void> {
    const type = e.attrs['type'];
    const id = e.attrs['id'] ?? '';
    const bind = e.getChild('bind', NS_BIND);
    if (e.name === 'iq' && type === 'set' && bind) return this.#bind(id, bind);
    if (e.name === 'iq' && type === 'set' && e.getChild('session', NS_SESSION)) {
      this.#write(el('iq', { type: 'result', id }).toString());
      return;
    }
    if (e.name === 'iq' && (type === 'get' || type === 'set')) {
      this.#write(el('iq', { type: 'error', id }, new StanzaError('not-authorized', 'Bind a resource first').toElement()).toString());
      return;
    }
    return this.#fail(new StreamError('not-authorized', 'Bind a resource first'));
  }

  async #bind(id: string, bind: Element): Promise<void> {
    const host = this.#host ?? this.#core.defaultHost;
    const user = this.#user ?? '';
    const requested = bind.getChildText('resource');
    let resource: string | undefined;
    if (requested !== undefined && requested !== '') {
      try {
        resource = prepResourcepart(requested);
      } catch {
        this.#write(el('iq', { type: 'error', id }, new StanzaError('bad-request', 'Invalid resource').toElement()).toString());
        return;
      }
    }
    const { resourceConflict } = this.#core.config.auth;
    const choice = this.#core.sessions.chooseResource(host, user, resource, resourceConflict, this.#core.config.limits.maxResourcesPerUser);
    if ('error' in choice) {
      const err = choice.error === 'conflict' ? new StanzaError('conflict') : new StanzaError('resource-constraint', 'Too many resources', 'cancel');
      this.#write(el('iq', { type: 'error', id }, err.toElement()).toString());
      return;
    }
    if (choice.replaces) {
      const old = choice.replaces;
      this.#core.sessions.remove(old);
      await this.#core.router.sessionClosed(old);
      old.close(new StreamError('conflict', 'Replaced by a new connection'));
    }
    const session = new ClientSession(this, new Jid(user, host, choice.resource));
    this.#session = session;
    this.#core.sessions.add(session);
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#write(el('iq', { type: 'result', id }, el('bind', { xmlns: NS_BIND }, el('jid', {}, session.jid.toString()))).toString());
    await this.#core.host(host)?.hooks.emit('session/bound', { session });
  }

  async #onStanza(session: ClientSession, e: Element): Promise<void> {
    // RFC 6120 §8.1.2.1: a 'from' that isn't this session's JID is a forgery.
    const from = e.attrs['from'];
    if (from !== undefined && from !== session.jid.toString() && from !== session.jid.bareString) {
      const j = tryParseJid(from);
      if (!j || !(j.equals(session.jid) || j.equals(session.jid.bare()))) return this.#fail(new StreamError('invalid-from'));
    }
    const type = e.attrs['type'];
    if (e.name === 'iq') {
      if (!e.attrs['id'] || (type !== 'get' && type !== 'set' && type !== 'result' && type !== 'error')) {
        return this.#replyError(e, new StanzaError('bad-request', 'An IQ needs an id and a valid type'));
      }
      if ((type === 'get' || type === 'set') && e.elements.length !== 1) {
        return this.#replyError(e, new StanzaError('bad-request', 'An IQ get/set needs exactly one payload'));
      }
    }
    let to: Jid | undefined;
    const toAttr = e.attrs['to'];
    if (toAttr !== undefined) {
      try {
        to = parseJid(toAttr);
      } catch (err) {
        if (err instanceof JidError) return this.#replyError(e, new StanzaError('jid-malformed'));
        throw err;
      }
    }
    e.attrs['from'] = session.jid.toString();
    try {
      await this.#core.router.fromClient(session, e, to);
    } catch (err) {
      if (err instanceof StanzaError) return this.#replyError(e, err);
      throw err;
    }
  }

  #replyError(e: Element, err: StanzaError): void {
    if (e.attrs['type'] === 'error') return;
    const attrs: Record<string, string> = { ...e.attrs, type: 'error' };
    delete attrs['from'];
    if (e.attrs['to']) attrs['from'] = e.attrs['to'];
    delete attrs['to'];
    this.#write(new Element(e.name, attrs, [...(e.name === 'iq' ? e.elements.slice(0, 1) : e.children), err.toElement()]).toString());
  }

  #onStreamEnd(): void {
    if (this.#state === 'closed') return;
    this.#write('</stream:stream>');
    this.#close();
  }

  async #onTransportClosed(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#handshakeTimer);
    const session = this.#session;
    this.#session = undefined;
    if (session && this.#core.sessions.remove(session)) {
      await this.#queue;
      await this.#core.router.sessionClosed(session).catch((err: unknown) => this.#log.warn({ err }, 'session cleanup failed'));
    }
  }
}

/** SASL payloads are base64; "=" means an empty payload (RFC 6120 §6.4.2). */
function decodeSaslPayload(text: string): Buffer | undefined | null {
  const t = text.trim();
  if (t === '') return undefined;
  if (t === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return null;
  return Buffer.from(t, 'base64');
}

class ClientSession implements Session {
  readonly id = randomBytes(8).toString('hex');
  readonly jid: Jid;
  readonly host: string;
  readonly user: string;
  readonly resource: string;
  presence: Element | undefined;
  priority = 0;
  rosterRequested = false;
  readonly directedPresence = new Set<string>();
  readonly data = new Map<string, unknown>();
  readonly #stream: C2sStream;

  constructor(stream: C2sStream, jid: Jid) {
    this.#stream = stream;
    this.jid = jid;
    this.host = jid.domain;
    this.user = jid.local;
    this.resource = jid.resource;
  }

  send(stanza: Element): void {
    this.#stream.send(stanza);
  }

  close(error?: StreamError): void {
    this.#stream.close(error);
  }
}
