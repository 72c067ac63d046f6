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
import type { GateTicket, Refusal } from './connection-gate.ts';
import { StorageBusyError } from './storage.ts';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_CLIENT = 'jabber:client';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const MAX_AUTH_FAILURES = 5;
/** Parsed elements waiting for their turn before the socket stops being read (the rest waits in TCP). */
const MAX_INBOX = 32;

type State = 'header' | 'tls-starting' | 'negotiating' | 'closed';

/** What the parser hands over, processed strictly in order (RFC 6120 §10.1). */
type Inbound = Element | { end: true } | { error: StreamError };

/** The admission decided at accept: a ticket to release on authentication, or a refusal to say. */
export type Admission = { ticket: GateTicket } | { refusal: Refusal };

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
  /** The session this stream had when it closed: stanzas already received still go out from it. */
  #closedSession: ClientSession | undefined;
  #sasl: SaslExchange | undefined;
  #authFailures = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** Until TLS is up (STARTTLS negotiated, or the direct-TLS handshake done). */
  #tlsTimer: NodeJS.Timeout | undefined;
  /** Runs while the output stays above max_output_buffer; ends the stream when it fires. */
  #stallTimer: NodeJS.Timeout | undefined;
  readonly #admission: Admission;
  /** Elements are processed one at a time, in order (RFC 6120 §10.1 in-order processing). */
  readonly #inbox: Inbound[] = [];
  #busy = false;
  #inputPaused = false;
  /** Resolved when the output drains below the cap or the connection closes. */
  #drainWaiters: (() => void)[] = [];
  /** Resolved when the inbox has been worked off. */
  #idleWaiters: (() => void)[] = [];

  constructor(core: ServerCore, transport: XmlTransport, admission: Admission) {
    this.#core = core;
    this.#transport = transport;
    this.#admission = admission;
    const limits = core.config.limits;
    this.#parser = new StreamParser(
      {
        streamStart: (attrs, name) => this.#onHeader(attrs, name),
        element: (e) => this.#enqueue(e),
        streamEnd: () => this.#enqueue({ end: true }),
        error: (err) => this.#enqueue({ error: err }),
        keepalive: () => this.#touch(),
      },
      // Nobody is known before authentication: only small stanzas until then.
      { maxStanzaSize: limits.preauthMaxStanzaSize },
    );
    transport.onData((chunk) => {
      this.#touch();
      this.#parser.write(chunk);
    });
    transport.onDrain(() => this.#onDrain());
    transport.onClose(() => this.#onTransportClosed());
    this.#tlsTimer = setTimeout(() => this.#fail(new StreamError('connection-timeout', 'TLS negotiation took too long')), limits.tlsTimeoutMs);
    this.#tlsTimer.unref();
    this.#handshakeTimer = setTimeout(() => this.#fail(new StreamError('connection-timeout', 'Authentication took too long')), limits.handshakeTimeoutMs);
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
    if (this.#backlogged()) this.#stallTimer ??= setTimeout(() => this.#onStalled(), this.#core.config.limits.outputStallTimeoutMs).unref();
  }

  get backedUp(): boolean {
    return this.#backlogged();
  }

  /** More is waiting to be sent than max_output_buffer: the client is not reading. */
  #backlogged(): boolean {
    return this.#transport.pendingBytes >= this.#core.config.limits.maxOutputBuffer;
  }

  /**
   * Queues a stanza to the client. False when it was not taken: the stream is closed, or backed
   * up (then only the server's answers to the client's own requests still go out, since their
   * number is bounded by the requests it reads). The caller stores or bounces what was refused.
   */
  send(stanza: Element): boolean {
    if (this.#state === 'closed') return false;
    if (this.#backlogged() && !this.#isOwnReply(stanza)) return false;
    this.#write(stanza.toString());
    return true;
  }

  #isOwnReply(stanza: Element): boolean {
    const type = stanza.attrs['type'];
    if (stanza.name !== 'iq' || (type !== 'result' && type !== 'error')) return false;
    const from = stanza.attrs['from'];
    const jid = this.#session?.jid;
    return jid !== undefined && (from === jid.domain || from === jid.bareString);
  }

  #onDrain(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }

  /** RFC 6120 §4.9.3.15 policy-violation: the client left its output unread for too long. */
  #onStalled(): void {
    this.#stallTimer = undefined;
    if (!this.#backlogged()) return;
    this.#fail(new StreamError('policy-violation', 'You are not reading from the connection'));
    this.#transport.destroy();
  }

  #pauseInput(): void {
    if (this.#inputPaused) return;
    this.#inputPaused = true;
    this.#transport.pause();
  }

  #resumeInput(): void {
    if (!this.#inputPaused || this.#state === 'closed') return;
    this.#inputPaused = false;
    this.#transport.resume();
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
    this.#clearTimers();
    this.#releaseSession();
    this.#transport.end();
    // A client that never closes its side is cut off after a grace period.
    setTimeout(() => this.#transport.destroy(), 2000).unref();
  }

  #clearTimers(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#tlsTimer);
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const wake of this.#drainWaiters.splice(0)) wake();
    if ('ticket' in this.#admission) this.#admission.ticket.closed();
  }

  /**
   * A closed stream stops being routable at once (not when TCP closes later): whatever is sent
   * to it from now on goes to the account's other resources, offline storage or a bounce. The
   * unavailable broadcast waits until the stanzas the client sent before closing are routed.
   */
  #releaseSession(): void {
    const session = this.#session;
    this.#session = undefined;
    if (!session || !this.#core.sessions.remove(session)) return;
    this.#closedSession = session;
    void this.#whenIdle()
      .then(() => this.#core.router.sessionClosed(session))
      .catch((err: unknown) => this.#log.warn({ err }, 'session cleanup failed'));
  }

  #whenIdle(): Promise<void> {
    return this.#busy ? new Promise((r) => this.#idleWaiters.push(r)) : Promise.resolve();
  }

  #onHeader(attrs: Record<string, string>, name: string): void {
    if (this.#state !== 'header') return this.#fail(new StreamError('not-well-formed', 'Unexpected stream header'));
    if ('refusal' in this.#admission) {
      const { condition, text } = this.#admission.refusal;
      return this.#fail(new StreamError(condition, text));
    }
    if (this.#transport.secure) {
      clearTimeout(this.#tlsTimer);
      this.#tlsTimer = undefined;
    }
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

  #enqueue(item: Inbound): void {
    this.#inbox.push(item);
    // Stop reading while the queue is full: the rest waits in the client's TCP buffers, not ours.
    if (this.#inbox.length >= MAX_INBOX || !(item instanceof Element)) this.#pauseInput();
    if (!this.#busy) void this.#work();
  }

  /** Works the inbox off in order; waits (not reading) while the client's output is backed up. */
  async #work(): Promise<void> {
    this.#busy = true;
    for (let item = this.#inbox.shift(); item !== undefined; item = this.#inbox.shift()) {
      if (this.#state !== 'closed' && this.#backlogged()) {
        this.#pauseInput();
        await new Promise<void>((r) => this.#drainWaiters.push(r));
      }
      if (!(item instanceof Element)) {
        if ('end' in item) this.#onStreamEnd();
        else this.#fail(item.error);
        continue;
      }
      try {
        await this.#onElement(item);
      } catch (err) {
        this.#onElementFailed(item, err);
      }
    }
    this.#busy = false;
    for (const wake of this.#idleWaiters.splice(0)) wake();
    this.#resumeInput();
  }

  /**
   * An unexpected error while handling one element fails that element only: a stanza gets an
   * <internal-server-error/> bounce with an error id (in the log, never the stanza), SASL a
   * temporary failure; the stream lives on.
   */
  #onElementFailed(e: Element, err: unknown): void {
    if (err instanceof StreamError) return this.#fail(err);
    const errorId = randomBytes(6).toString('hex');
    this.#log.error({ err, errorId, stanza: e.topTag() }, 'stanza handling failed');
    if (e.attrs['xmlns'] === NS_SASL) {
      this.#sasl = undefined;
      this.#write(el('failure', { xmlns: NS_SASL }, el('temporary-auth-failure'), el('text', { 'xml:lang': 'en' }, `Internal error ${errorId}`)).toString());
      return;
    }
    if (this.#state === 'closed' || this.#user === undefined) return this.#fail(new StreamError('internal-server-error', `Error id ${errorId}`));
    this.#replyError(
      e,
      err instanceof StorageBusyError
        ? new StanzaError('resource-constraint', 'The server is busy; try again', 'wait')
        : new StanzaError('internal-server-error', `Error id ${errorId}`),
    );
  }

  async #onElement(e: Element): Promise<void> {
    if (this.#state === 'closed') {
      // Stanzas the client sent before the stream closed are still routed, never lost.
      const session = this.#closedSession;
      if (session) await this.#onStanza(session, e);
      return;
    }
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
    if (step.kind === 'failure' && step.counts !== undefined) {
      // Only wrong credentials count against the address (and the account); a channel-binding
      // mismatch says nothing about guessing from this address, so it counts against the account
      // only; malformed or aborted exchanges count as neither.
      const user = this.#sasl?.username;
      const account = user === undefined ? undefined : `${user}@${host}`;
      if (step.counts === 'credentials') {
        this.#core.throttle.failed(peer, account);
        const verdict = this.#core.throttle.check(peer);
        // Slow down guessing: the failure answer waits longer after each failure past the
        // threshold. The stream reads nothing meanwhile (its inbox is busy), so nothing piles up.
        if (!verdict.refuse && verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
      } else if (account !== undefined) {
        this.#core.throttle.failedAccount(account);
      }
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
        if ('ticket' in this.#admission) this.#admission.ticket.authenticated();
        this.#parser.setMaxStanzaSize(this.#core.config.limits.maxStanzaSize);
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
    try {
      await this.#core.host(host)?.hooks.emit('session/bound', { session });
    } catch (err) {
      // A module's failure must not undo a bind the client has already been told about.
      this.#log.error({ err }, 'session/bound hook failed');
    }
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

  #onTransportClosed(): void {
    this.#state = 'closed';
    this.#parser.end();
    this.#clearTimers();
    this.#releaseSession();
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

  get backedUp(): boolean {
    return this.#stream.backedUp;
  }

  send(stanza: Element): boolean {
    return this.#stream.send(stanza);
  }

  close(error?: StreamError): void {
    this.#stream.close(error);
  }
}
