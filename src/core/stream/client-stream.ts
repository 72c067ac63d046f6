// The client role of a stream (RFC 6120 §4–§7): header checks, STARTTLS, SASL, resource binding,
// then the stanza intake check and hand-off to the router. The framing-neutral machinery (inbox,
// backpressure, stream errors, timers) is XmlStream's; framing and TLS are the transport's.
import type { Element } from '../xml/element.ts';
import { el } from '../xml/element.ts';
import { StanzaError, StreamError } from '../errors.ts';
import { Jid, prepResourcepart, tryParseJid } from '../jid.ts';
import type { ElementTransport } from '../transport.ts';
import type { SessionConnection, SessionInfo } from '../session.ts';
import { channelBindingTypes, mechanismsFeature, NS_SASL, offeredMechanisms, SaslExchange, type SaslStep } from '../sasl.ts';
import type { ServerCore } from '../server-core.ts';
import type { GateTicket, Refusal } from '../connection-gate.ts';
import { StorageBusyError } from '../storage.ts';
import { errorReply } from '../stanza-errors.ts';
import { checkStanza, isStanzaName } from '../stanza-intake.ts';
import { XmlStream } from './xml-stream.ts';

const NS_CLIENT = 'jabber:client';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const MAX_AUTH_FAILURES = 5;

type Phase = 'header' | 'tls-starting' | 'negotiating';

/** The admission decided at accept: a ticket to release on authentication, or a refusal to say. */
export type Admission = { ticket: GateTicket } | { refusal: Refusal };

export class ClientStream extends XmlStream {
  readonly #core: ServerCore;
  readonly #admission: Admission;
  #phase: Phase = 'header';
  #host: string | undefined;
  #user: string | undefined;
  /** This stream's end of its session (what the directory delivers to) and the session itself. */
  #conn: ClientConnection | undefined;
  #session: SessionInfo | undefined;
  /** The session this stream had when it closed: stanzas already received still go out from it. */
  #closedSession: SessionInfo | undefined;
  #sasl: SaslExchange | undefined;
  #authFailures = 0;
  /** Until TLS is up (STARTTLS negotiated, or the direct-TLS handshake done). */
  #cancelTlsDeadline: (() => void) | undefined;
  #cancelHandshakeDeadline: (() => void) | undefined;

  constructor(core: ServerCore, transport: ElementTransport, admission: Admission) {
    const limits = core.config.limits;
    super(transport, limits, core.c2sLog);
    this.#core = core;
    this.#admission = admission;
    this.#cancelTlsDeadline = this.deadline(limits.tls_timeout, 'TLS negotiation took too long');
    this.#cancelHandshakeDeadline = this.deadline(limits.handshake_timeout, 'Authentication took too long');
  }

  /** The peer address, for IP blocks only: never logged or stored. */
  get peerAddress(): string | undefined {
    return this.transport.peerAddress;
  }

  get backedUp(): boolean {
    return this.backlogged();
  }

  /**
   * Queues a stanza to the client. False when it was not taken: the stream is closed, or backed
   * up (then only the server's answers to the client's own requests still go out, since their
   * number is bounded by the requests it reads). The caller stores or bounces what was refused.
   */
  send(stanza: Element): boolean {
    if (this.isClosed) return false;
    if (this.backlogged() && !this.#isOwnReply(stanza)) return false;
    this.write(stanza);
    return true;
  }

  #isOwnReply(stanza: Element): boolean {
    const type = stanza.attrs['type'];
    if (stanza.name !== 'iq' || (type !== 'result' && type !== 'error')) return false;
    const from = stanza.attrs['from'];
    const jid = this.#session?.jid;
    return jid !== undefined && (from === jid.domain || from === jid.bareString);
  }

  protected fallbackHeader(): Record<string, string> {
    return { xmlns: NS_CLIENT, from: this.#host ?? this.#core.defaultHost };
  }

  // --- header and features (RFC 6120 §4.7, §4.3.2) ------------------------------------------

  protected onHeader(attrs: Record<string, string>, name: string): void {
    if (this.#phase !== 'header') throw new StreamError('not-well-formed', 'Unexpected stream header');
    if ('refusal' in this.#admission) {
      const { condition, text } = this.#admission.refusal;
      throw new StreamError(condition, text);
    }
    if (this.transport.secure) {
      this.#cancelTlsDeadline?.();
      this.#cancelTlsDeadline = undefined;
    }
    const to = attrs['to'];
    const host = to === undefined ? undefined : this.#core.prepHost(to);
    if (!host) {
      this.#host = undefined;
      throw new StreamError('host-unknown', 'This server does not serve that domain');
    }
    if (this.#host && host !== this.#host) throw new StreamError('host-unknown', 'The domain changed during negotiation');
    this.#host = host;
    if (name !== 'stream:stream' && !name.endsWith(':stream') && name !== 'stream') throw new StreamError('invalid-namespace');
    if ((attrs['xmlns'] ?? NS_CLIENT) !== NS_CLIENT) throw new StreamError('invalid-namespace', 'Client streams use jabber:client');
    const version = attrs['version'];
    if (version === undefined || Number.parseInt(version.split('.')[0] ?? '0', 10) < 1) {
      throw new StreamError('unsupported-version', 'XMPP 1.0 streams only');
    }
    this.openStream({ xmlns: NS_CLIENT, from: host });
    this.#phase = 'negotiating';
    this.write(this.#features());
  }

  #features(): Element {
    const f = el('stream:features');
    const t = this.transport;
    if (!t.secure) {
      // Authentication only after TLS: STARTTLS is required and nothing else is offered.
      if (t.canStartTls) f.append(el('starttls', { xmlns: NS_TLS }, el('required')));
      return f;
    }
    if (this.#user === undefined) {
      f.append(...mechanismsFeature(offeredMechanisms(this.#core.config.auth.mechanisms, t), channelBindingTypes(t)));
      return f;
    }
    f.append(el('bind', { xmlns: NS_BIND }), el('session', { xmlns: NS_SESSION }, el('optional')));
    for (const feature of this.#core.host(this.#host ?? '')?.streamFeatures ?? []) f.append(feature());
    return f;
  }

  // --- elements ----------------------------------------------------------------------------

  protected async onElement(e: Element): Promise<void> {
    if (this.isClosed) {
      // Stanzas the client sent before the stream closed are still routed, never lost.
      if (this.#closedSession) await this.#onStanza(this.#closedSession, e);
      return;
    }
    if (this.#phase !== 'negotiating') throw new StreamError('not-authorized');
    const ns = e.attrs['xmlns'];
    if (e.name === 'starttls' && ns === NS_TLS) return this.#startTls();
    if (!this.transport.secure) {
      if (ns === NS_SASL && e.name === 'auth') {
        this.write(el('failure', { xmlns: NS_SASL }, el('encryption-required')));
        return;
      }
      throw new StreamError('not-authorized', 'Negotiate TLS first');
    }
    if (ns === NS_SASL) return this.#onSasl(e);
    if (this.#user === undefined) throw new StreamError('not-authorized', 'Authenticate first');
    if (!isStanzaName(e.name)) {
      // A nonza from a bound client (e.g. XEP-0352 <inactive/>) is for the modules; unknown: an error as before.
      if (this.#session && (await this.#core.host(this.#session.host)?.hooks.emit('stream/nonza', { session: this.#session, element: e }))) return;
      throw new StreamError('unsupported-stanza-type');
    }
    if (ns !== undefined && ns !== NS_CLIENT) throw new StreamError('invalid-namespace');
    if (!this.#session) return this.#beforeBind(e);
    return this.#onStanza(this.#session, e);
  }

  /**
   * An unexpected error while handling one element fails that element only: a stanza gets an
   * <internal-server-error/> bounce with an error id (in the log, never the stanza), SASL a
   * temporary failure; the stream lives on.
   */
  protected onElementFailed(e: Element, err: unknown, errorId: string): void {
    this.log.error({ err, errorId, stanza: e.topTag() }, 'stanza handling failed');
    if (e.attrs['xmlns'] === NS_SASL) {
      this.#sasl = undefined;
      this.write(el('failure', { xmlns: NS_SASL }, el('temporary-auth-failure'), el('text', { 'xml:lang': 'en' }, `Internal error ${errorId}`)));
      return;
    }
    if (this.isClosed || this.#user === undefined) return this.fail(new StreamError('internal-server-error', `Error id ${errorId}`));
    this.#replyError(
      e,
      err instanceof StorageBusyError
        ? new StanzaError('resource-constraint', 'The server is busy; try again', 'wait')
        : new StanzaError('internal-server-error', `Error id ${errorId}`),
    );
  }

  protected onClosed(): void {
    this.#cancelTlsDeadline?.();
    this.#cancelHandshakeDeadline?.();
    if ('ticket' in this.#admission) this.#admission.ticket.closed();
    this.#releaseSession();
  }

  /**
   * A closed stream stops being routable at once (not when TCP closes later): whatever is sent
   * to it from now on goes to the account's other resources, offline storage or a bounce. The
   * unavailable broadcast waits until the stanzas the client sent before closing are routed.
   */
  #releaseSession(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    this.#session = undefined;
    const session = conn && this.#core.sessions.remove(conn);
    if (!session) return;
    this.#closedSession = session;
    void this.whenIdle()
      .then(() => this.#core.router.sessionClosed(session))
      .catch((err: unknown) => this.log.warn({ err }, 'session cleanup failed'));
  }

  // --- STARTTLS (RFC 6120 §5) ----------------------------------------------------------------

  async #startTls(): Promise<void> {
    const t = this.transport;
    if (t.secure || !t.canStartTls) {
      this.write(el('failure', { xmlns: NS_TLS }));
      return this.close();
    }
    this.write(el('proceed', { xmlns: NS_TLS }));
    this.#phase = 'tls-starting';
    try {
      await t.startTls(this.#host ?? this.#core.defaultHost);
    } catch {
      // The TLS handshake failed (e.g. a TLS 1.1 client): nothing more can be said on this socket.
      t.destroy();
      return;
    }
    this.restart();
    this.#phase = 'header';
  }

  // --- SASL (RFC 6120 §6) --------------------------------------------------------------------

  async #onSasl(e: Element): Promise<void> {
    if (this.#user !== undefined) throw new StreamError('policy-violation', 'Already authenticated');
    const host = this.#host ?? this.#core.defaultHost;
    let step: SaslStep;
    const peer = this.transport.peerAddress;
    if (e.name === 'auth') {
      const mech = e.attrs['mechanism'] ?? '';
      const offered = offeredMechanisms(this.#core.config.auth.mechanisms, this.transport);
      if (this.#core.throttle.check(peer).refuse) {
        step = { kind: 'failure', condition: 'temporary-auth-failure', text: 'Too many failed logins from your address; try again later' };
      } else if (!offered.includes(mech)) {
        step = { kind: 'failure', condition: 'invalid-mechanism' };
      } else {
        this.#sasl = new SaslExchange(mech, host, this.#core.accounts, this.transport, offered, channelBindingTypes(this.transport), {
          iterations: this.#core.config.auth.scram_iterations,
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
        this.write(el('challenge', { xmlns: NS_SASL }, step.data.length ? step.data.toString('base64') : '='));
        return;
      case 'failure':
        this.#sasl = undefined;
        this.write(el('failure', { xmlns: NS_SASL }, el(step.condition), step.text ? el('text', { 'xml:lang': 'en' }, step.text) : null));
        if (step.condition === 'not-authorized' && ++this.#authFailures >= MAX_AUTH_FAILURES) {
          this.fail(new StreamError('policy-violation', 'Too many failed authentication attempts'));
        }
        return;
      case 'success':
        this.#sasl = undefined;
        this.#user = step.user;
        if ('ticket' in this.#admission) this.#admission.ticket.authenticated();
        this.transport.setMaxStanzaSize(this.#core.config.limits.max_stanza_size);
        this.write(el('success', { xmlns: NS_SASL }, step.data?.length ? step.data.toString('base64') : null));
        this.log.debug({ host }, 'authenticated');
        this.restart();
        this.#phase = 'header';
        return;
    }
  }

  // --- resource binding (RFC 6120 §7) --------------------------------------------------------

  /** Only resource binding and the legacy session request are allowed before bind. */
  async #beforeBind(e: Element): Promise<void> {
    const type = e.attrs['type'];
    const id = e.attrs['id'] ?? '';
    const bind = e.getChild('bind', NS_BIND);
    if (e.name === 'iq' && type === 'set' && bind) return this.#bind(id, bind);
    if (e.name === 'iq' && type === 'set' && e.getChild('session', NS_SESSION)) {
      this.write(el('iq', { type: 'result', id }));
      return;
    }
    if (e.name === 'iq' && (type === 'get' || type === 'set')) {
      this.write(el('iq', { type: 'error', id }, new StanzaError('not-authorized', 'Bind a resource first').toElement()));
      return;
    }
    throw new StreamError('not-authorized', 'Bind a resource first');
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
        this.write(el('iq', { type: 'error', id }, new StanzaError('bad-request', 'Invalid resource').toElement()));
        return;
      }
    }
    const { resource_conflict: resourceConflict } = this.#core.config.auth;
    const choice = this.#core.sessions.chooseResource(host, user, resource, resourceConflict, this.#core.config.limits.max_resources_per_user);
    if ('error' in choice) {
      const err = choice.error === 'conflict' ? new StanzaError('conflict') : new StanzaError('resource-constraint', 'Too many resources', 'cancel');
      this.write(el('iq', { type: 'error', id }, err.toElement()));
      return;
    }
    if (choice.replaces) {
      const old = choice.replaces;
      const gone = this.#core.sessions.remove(old);
      if (gone) await this.#core.router.sessionClosed(gone);
      old.close(new StreamError('conflict', 'Replaced by a new connection'));
    }
    const conn = new ClientConnection(this, new Jid(user, host, choice.resource));
    this.#conn = conn;
    const session = this.#core.sessions.add(conn);
    this.#session = session;
    this.#cancelHandshakeDeadline?.();
    this.#cancelHandshakeDeadline = undefined;
    this.write(el('iq', { type: 'result', id }, el('bind', { xmlns: NS_BIND }, el('jid', {}, session.jid.toString()))));
    try {
      await this.#core.host(host)?.hooks.emit('session/bound', { session });
    } catch (err) {
      // A module's failure must not undo a bind the client has already been told about.
      this.log.error({ err }, 'session/bound hook failed');
    }
  }

  // --- stanzas -------------------------------------------------------------------------------

  async #onStanza(session: SessionInfo, e: Element): Promise<void> {
    // RFC 6120 §8.1.2.1: a 'from' that isn't this session's JID is a forgery.
    const from = e.attrs['from'];
    if (from !== undefined && from !== session.jid.toString() && from !== session.jid.bareString) {
      const j = tryParseJid(from);
      if (!j || !(j.equals(session.jid) || j.equals(session.jid.bare()))) throw new StreamError('invalid-from');
    }
    let to;
    try {
      ({ to } = checkStanza(e));
    } catch (err) {
      if (err instanceof StanzaError) return this.#replyError(e, err);
      throw err;
    }
    e.attrs['from'] = session.jid.toString();
    try {
      await this.#core.router.fromClient(session, e, to);
    } catch (err) {
      if (err instanceof StanzaError) return this.#replyError(e, err);
      throw err;
    }
  }

  /** The error reply to a stanza the client sent, from where it was addressed (RFC 6120 §8.3.1). */
  #replyError(e: Element, err: StanzaError): void {
    if (e.attrs['type'] === 'error') return;
    const to = e.attrs['to'];
    this.write(errorReply(e, err, to === undefined ? {} : { from: to }));
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

/** The stream's end of a bound session, registered in the session directory. */
class ClientConnection implements SessionConnection {
  readonly jid: Jid;
  readonly #stream: ClientStream;

  constructor(stream: ClientStream, jid: Jid) {
    this.#stream = stream;
    this.jid = jid;
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
