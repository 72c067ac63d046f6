// The client role of a stream (RFC 6120 §4–§7): header checks, STARTTLS, SASL, resource binding,
// then the stanza intake check and hand-off to the router. The framing-neutral machinery (inbox,
// backpressure, stream errors, timers) is XmlStream's; framing and TLS are the transport's.
import { randomBytes } from 'node:crypto';
import type { Element } from '../xml/element.ts';
import { el } from '../xml/element.ts';
import { StanzaError, StreamError } from '../errors.ts';
import { Jid, prepResourcepart, tryParseJid } from '../jid.ts';
import type { ElementTransport } from '../transport.ts';
import type { SessionConnection, SessionInfo } from '../session.ts';
import type { PreauthStream } from '../modules.ts';
import { channelBindingTypes, mechanismsFeature, NS_SASL, offeredMechanisms, SaslExchange, type SaslFailureCondition, type SaslStep } from '../sasl.ts';
import type { ServerCore } from '../server-core.ts';
import type { GateTicket, Refusal } from '../connection-gate.ts';
import { StorageBusyError } from '../storage.ts';
import { errorReply } from '../stanza-errors.ts';
import { checkStanza, isStanzaName } from '../stanza-intake.ts';
import { XmlStream } from './xml-stream.ts';
import { NS_SM, ResumptionTable, StreamManagement, type Unacked } from './stream-management.ts';
import { DeliveryReceipt, currentReceipt, withReceipt } from '../delivery-receipt.ts';
import { authenticationFeature, NS_SASL2, Sasl2, sasl2Offer, type Sasl2Stream } from './sasl2.ts';
import { guardStep, throttleRefusal } from './login-guard.ts';
import type { ConflictPolicy } from '../sessions.ts';

const NS_CLIENT = 'jabber:client';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
const MAX_AUTH_FAILURES = 5;
/** IQs a stream may send before authentication (registration and the like): a backstop to each module's own limit. */
const MAX_PREAUTH_IQS = 20;
/** Unacknowledged stanzas after which an acknowledgement is requested at once (XEP-0198 §4). */
const ACK_EVERY = 10;

type Phase = 'header' | 'tls-starting' | 'negotiating';

/** Sessions waiting to be resumed (XEP-0198 §5), one table per server. */
const resumptionTables = new WeakMap<ServerCore, ResumptionTable<ClientConnection>>();
function resumable(core: ServerCore): ResumptionTable<ClientConnection> {
  let t = resumptionTables.get(core);
  if (!t) {
    t = new ResumptionTable(core.config.limits.sm_max_resumable);
    resumptionTables.set(core, t);
  }
  return t;
}

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
  /** XEP-0388 SASL2, once the client starts it. */
  #sasl2: Sasl2 | undefined;
  /** The stream header's 'from' (XEP-0388 checks a requested authorization identity against it). */
  #streamFrom: string | undefined;
  #authFailures = 0;
  #preauthIqs = 0;
  /** What pre-auth IQ handlers see of this stream, made at its first such IQ. */
  #preauthStream: PreauthStream | undefined;
  /** Until TLS is up (STARTTLS negotiated, or the direct-TLS handshake done). */
  #cancelTlsDeadline: (() => void) | undefined;
  #cancelHandshakeDeadline: (() => void) | undefined;
  /** XEP-0198 state of this stream's session, kept after close to count what was still handled. */
  #sm: StreamManagement | undefined;
  /** A server-initiated <r/> is scheduled. */
  #ackRequest: NodeJS.Timeout | undefined;

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

  /** Not reading its output, or (XEP-0198) holding as many unacknowledged stanzas as allowed. */
  get backedUp(): boolean {
    return this.backlogged() || (this.#sm !== undefined && !this.#sm.hasRoomFor(1));
  }

  /**
   * Queues a stanza to the client. False when it was not taken: the stream is closed, or backed
   * up (then only the server's answers to the client's own requests still go out, since their
   * number is bounded by the requests it reads). The caller stores or bounces what was refused.
   */
  send(stanza: Element): boolean {
    if (this.isClosed) return false;
    if (this.backlogged() && !this.#isOwnReply(stanza)) return false;
    const sm = this.#sm;
    if (!sm) {
      this.write(stanza);
      return true;
    }
    // XEP-0198 §4: kept until the client acknowledges it; past the bound, refused like a backlog.
    const text = stanza.toString();
    if (!sm.hasRoomFor(text.length) && !this.#isOwnReply(stanza)) return false;
    sm.sent(stanza, text.length, currentReceipt());
    this.write(stanza, text);
    this.#requestAck();
    return true;
  }

  /**
   * Asks for an acknowledgement (XEP-0198 §4): at once every ACK_EVERY unacknowledged stanzas, so
   * a fast sender never fills the queue, and otherwise once soon after a burst.
   */
  #requestAck(): void {
    if ((this.#sm?.unackedCount ?? 0) % ACK_EVERY === 0) {
      this.write(el('r', { xmlns: NS_SM }));
      return;
    }
    this.#requestAckLater();
  }

  #requestAckLater(): void {
    this.#ackRequest ??= setTimeout(() => {
      this.#ackRequest = undefined;
      if (!this.isClosed && (this.#sm?.unackedCount ?? 0) > 0) this.write(el('r', { xmlns: NS_SM }));
    }, 1000).unref();
  }

  #isOwnReply(stanza: Element): boolean {
    const type = stanza.attrs['type'];
    if (stanza.name !== 'iq' || (type !== 'result' && type !== 'error')) return false;
    const from = stanza.attrs['from'];
    const jid = this.#session?.jid;
    return jid !== undefined && (from === jid.domain || from === jid.bareString);
  }

  /**
   * A bound client silent for idle_timeout: XEP-0198 <r/> when it has stream management (it
   * must answer, §4), else a XEP-0199 ping from the server. Any answer counts as alive.
   */
  protected override probe(): boolean {
    const session = this.#session;
    if (!session) return false;
    if (this.#sm) this.write(el('r', { xmlns: NS_SM }));
    else this.write(el('iq', { type: 'get', id: `probe-${randomBytes(6).toString('base64url')}`, from: session.jid.domain, to: session.jid.toString() }, el('ping', { xmlns: 'urn:xmpp:ping' })));
    return true;
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
    this.#streamFrom = attrs['from'];
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
      const [mechanisms, ...cb] = mechanismsFeature(offeredMechanisms(this.#core.config.auth.mechanisms, t), channelBindingTypes(t));
      f.append(mechanisms, authenticationFeature(sasl2Offer(this.#core, t, this.#host ?? this.#core.defaultHost)), ...cb);
      for (const feature of this.#core.host(this.#host ?? '')?.preauthFeatures ?? []) f.append(feature());
      return f;
    }
    // After SASL2 (no restart) the session may be bound already (Bind 2) and have XEP-0198 on.
    if (!this.#session) f.append(el('bind', { xmlns: NS_BIND }), el('session', { xmlns: NS_SESSION }, el('optional')));
    if (!this.#sm) f.append(el('sm', { xmlns: NS_SM }));
    for (const feature of this.#core.host(this.#host ?? '')?.streamFeatures ?? []) f.append(feature());
    return f;
  }

  // --- elements ----------------------------------------------------------------------------

  protected async onElement(e: Element): Promise<void> {
    if (this.isClosed) {
      // Stanzas the client sent before the stream closed are still routed, never lost.
      if (this.#closedSession && isStanzaName(e.name)) await this.#handle(this.#closedSession, e);
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
      // XEP-0388 §5: SASL2 only after TLS.
      if (ns === NS_SASL2 && e.name === 'authenticate') {
        this.write(el('failure', { xmlns: NS_SASL2 }, el('encryption-required', { xmlns: NS_SASL }), el('text', { 'xml:lang': 'en' }, 'Negotiate TLS first')));
        return;
      }
      throw new StreamError('not-authorized', 'Negotiate TLS first');
    }
    // XEP-0388 §2.5: while a SASL2 exchange runs, anything but <response/> or <abort/> ends the stream.
    if (this.#sasl2?.inProgress && !(ns === NS_SASL2 && (e.name === 'response' || e.name === 'abort'))) {
      throw new StreamError('policy-violation', 'Only <response/> or <abort/> may come during authentication');
    }
    if (ns === NS_SASL) return this.#onSasl(e);
    if (ns === NS_SASL2) return this.#onSasl2(e);
    if (this.#user === undefined && e.name === 'iq' && (ns === undefined || ns === NS_CLIENT)) return this.#onPreauthIq(e);
    if (this.#user === undefined) throw new StreamError('not-authorized', 'Authenticate first');
    if (ns === NS_SM) return this.#onSm(e);
    if (!isStanzaName(e.name)) {
      // A nonza from a bound client (e.g. XEP-0352 <inactive/>) is for the modules; unknown: an error as before.
      if (this.#session && (await this.#core.host(this.#session.host)?.hooks.emit('stream/nonza', { session: this.#session, element: e }))) return;
      throw new StreamError('unsupported-stanza-type');
    }
    if (ns !== undefined && ns !== NS_CLIENT) throw new StreamError('invalid-namespace');
    if (!this.#session) return this.#beforeBind(e);
    return this.#handle(this.#session, e);
  }

  /**
   * A stanza from the bound client. With stream management (XEP-0198 §4) it counts as handled
   * once it is out of our hands: at once for presence and IQs; for a message, once every copy of
   * it was acknowledged by its recipient, stored offline or bounced (see delivery-receipt.ts).
   */
  async #handle(session: SessionInfo, e: Element): Promise<void> {
    const sm = this.#sm;
    if (!sm || e.name !== 'message') {
      try {
        await this.#onStanza(session, e);
      } finally {
        sm?.handled();
      }
      return;
    }
    const seq = sm.received();
    const receipt = new DeliveryReceipt(false, () => {
      if (sm.settle(seq) && sm.owesAck) this.#reportAck(sm);
    });
    try {
      await withReceipt(receipt, () => this.#onStanza(session, e));
    } finally {
      receipt.routed();
    }
  }

  /**
   * Answers an <r/>, or (§4: an <a/> "MAY be sent at any time") tells the client unasked that
   * stanzas it was told were still in flight are now handled, so it can mark them as sent.
   */
  #reportAck(sm: StreamManagement): void {
    if (this.isClosed || this.#sm !== sm) return;
    sm.owesAck = sm.inFlight > 0;
    this.write(el('a', { xmlns: NS_SM, h: String(sm.inbound) }));
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
    if (e.attrs['xmlns'] === NS_SASL2 && this.#user === undefined) {
      this.#sasl2 = undefined;
      this.write(el('failure', { xmlns: NS_SASL2 }, el('temporary-auth-failure', { xmlns: NS_SASL }), el('text', { 'xml:lang': 'en' }, `Internal error ${errorId}`)));
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

  protected onClosed(how: 'stream' | 'connection'): void {
    this.#cancelTlsDeadline?.();
    this.#cancelHandshakeDeadline?.();
    clearTimeout(this.#ackRequest);
    if ('ticket' in this.#admission) this.#admission.ticket.closed();
    const conn = this.#conn;
    // XEP-0198 §5: the connection went away without the stream being closed: the session waits
    // (still routable, stanzas kept for it) for the client to resume it, up to the timeout.
    if (how === 'connection' && conn?.sm?.resumable) {
      this.#conn = undefined;
      this.#closedSession = this.#session;
      this.#session = undefined;
      conn.detach(this.#core.config.limits.sm_resume_timeout, () => void endSession(this.#core, conn, this.log));
      return;
    }
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
    if (!conn) return;
    // A closed stream (either side) ends the session as without stream management: what was
    // written to it counts as delivered; only a session that times out waiting for resumption
    // hands its unacknowledged stanzas on (else a clean logout would deliver them twice).
    const ended = unbind(this.#core, conn);
    // A stored original (offline storage) is deleted only if the client closed the stream itself,
    // after reading what came before; when we closed it (a kick, a shutdown) it stays stored.
    for (const entry of ended.pending) {
      if (entry.receipt?.keepsCopy && !this.closedByPeer) entry.receipt.lost();
      else entry.receipt?.delivered();
    }
    ended.pending = [];
    if (ended.session) this.#closedSession = ended.session;
    void this.whenIdle().then(() => handOn(this.#core, ended, this.log));
  }

  // --- stream management (XEP-0198) ----------------------------------------------------------

  async #onSm(e: Element): Promise<void> {
    switch (e.name) {
      case 'enable':
        return this.#enableSm(e);
      case 'resume':
        return this.#resume(e);
      case 'r':
        if (!this.#sm) throw new StreamError('unsupported-stanza-type', 'Stream management is not enabled');
        this.#reportAck(this.#sm);
        return;
      case 'a': {
        if (!this.#sm) throw new StreamError('unsupported-stanza-type', 'Stream management is not enabled');
        const h = parseH(e.attrs['h']);
        if (h === undefined) throw new StreamError('bad-format', 'An <a/> needs an h between 0 and 2^32-1');
        const before = this.#sm.unackedCount;
        if (!this.#sm.ack(h)) {
          // §4: acknowledging more than was sent is a stream error.
          throw new StreamError('undefined-condition', 'You acknowledged more stanzas than were sent', el('handled-count-too-high', { xmlns: NS_SM, h: String(h), 'send-count': String(this.#sm.sentCount) }));
        }
        // Some clients answer with what they finished handling, short of what reached them: ask
        // again soon while answers make progress, so nothing waits for the next stanza to be acked.
        if (this.#sm.unackedCount > 0 && this.#sm.unackedCount < before) this.#requestAckLater();
        return;
      }
      default:
        throw new StreamError('unsupported-stanza-type');
    }
  }

  #smFailed(condition: string, h?: number): Element {
    return el('failed', { xmlns: NS_SM, ...(h === undefined ? {} : { h: String(h) }) }, el(condition, { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }));
  }

  #enableSm(e: Element): void {
    this.write(this.#smEnable(e));
  }

  /** §3: enabling after resource binding, once (also inside a Bind 2 request): <enabled/> or <failed/>. */
  #smEnable(e: Element): Element {
    const conn = this.#conn;
    if (!conn || this.#sm) return this.#smFailed('unexpected-request');
    const limits = this.#core.config.limits;
    const table = resumable(this.#core);
    const wantsResume = e.attrs['resume'] === 'true' || e.attrs['resume'] === '1';
    const sm = new StreamManagement(wantsResume && table.size < limits.sm_max_resumable, { maxUnacked: limits.sm_max_unacked, maxUnackedBytes: limits.sm_max_unacked_bytes });
    if (sm.resumable) table.add(sm.id, conn);
    conn.sm = sm;
    this.#sm = sm;
    const max = String(Math.round(limits.sm_resume_timeout / 1000));
    return el('enabled', { xmlns: NS_SM, ...(sm.resumable ? { id: sm.id, resume: 'true', max } : {}) });
  }

  #resume(e: Element): void {
    if (this.#session) return this.write(this.#smFailed('unexpected-request'));
    const r = this.#smResume(this.#user ?? '', e.attrs['previd'] ?? '', e.attrs['h']);
    this.write(r.element);
    r.resumed?.resend();
  }

  /**
   * §5: resuming a detached (or still attached, half-open) session of `user` (also inside a SASL2
   * request): <resumed/>, with what to send again once it is written, or <failed/>.
   */
  #smResume(user: string, previd: string, rawH: string | undefined): { element: Element; resumed?: { jid: string; resend: () => void } } {
    const h = parseH(rawH);
    const conn = resumable(this.#core).get(previd);
    const host = this.#host ?? this.#core.defaultHost;
    if (h === undefined || !conn?.sm || conn.jid.local !== user || conn.jid.domain !== host) return { element: this.#smFailed('item-not-found') };
    const sm = conn.sm;
    if (!sm.ack(h)) return { element: this.#smFailed('unexpected-request', sm.inbound) };
    sm.settleAll();
    // The old connection, if it is still open, gives the session up (the client has moved on).
    conn.stream?.surrender();
    const session = this.#core.sessions.get(conn.jid.toString());
    if (!session) return { element: this.#smFailed('item-not-found') };
    conn.attach(this);
    this.#conn = conn;
    this.#session = session;
    this.#sm = sm;
    this.#cancelHandshakeDeadline?.();
    this.#cancelHandshakeDeadline = undefined;
    const resend = (): void => {
      // What the client never acknowledged goes again, in order; it stays queued until acknowledged.
      for (const stanza of sm.unacked()) this.write(stanza);
      if (sm.unackedCount > 0) this.#requestAck();
    };
    return { element: el('resumed', { xmlns: NS_SM, previd, h: String(sm.inbound) }), resumed: { jid: session.jid.toString(), resend } };
  }

  /** Another connection resumed this stream's session: let it go without ending it. */
  surrender(): void {
    this.#conn = undefined;
    this.#session = undefined;
    this.#sm = undefined;
    this.fail(new StreamError('conflict', 'The session was resumed on another connection'));
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
      const refused = throttleRefusal(this.#core, peer);
      if (refused) {
        step = refused;
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
    step = await guardStep(this.#core, peer, host, this.#sasl?.username, step);
    switch (step.kind) {
      case 'challenge':
        this.write(el('challenge', { xmlns: NS_SASL }, step.data.length ? step.data.toString('base64') : '='));
        return;
      case 'failure':
        this.#sasl = undefined;
        this.write(el('failure', { xmlns: NS_SASL }, el(step.condition), step.text ? el('text', { 'xml:lang': 'en' }, step.text) : null));
        this.#failedLogin(step.condition);
        return;
      case 'success':
        this.#sasl = undefined;
        this.#authenticated(step.user);
        this.write(el('success', { xmlns: NS_SASL }, step.data?.length ? step.data.toString('base64') : null));
        this.restart();
        this.#phase = 'header';
        return;
    }
  }

  /** Too many failed attempts on one stream end it (SASL and SASL2 alike). */
  #failedLogin(condition: SaslFailureCondition): void {
    if (condition === 'not-authorized' && ++this.#authFailures >= MAX_AUTH_FAILURES) {
      this.fail(new StreamError('policy-violation', 'Too many failed authentication attempts'));
    }
  }

  #authenticated(user: string): void {
    this.#user = user;
    if ('ticket' in this.#admission) this.#admission.ticket.authenticated();
    this.transport.setMaxStanzaSize(this.#core.config.limits.max_stanza_size);
    this.log.debug({ host: this.#host }, 'authenticated');
  }

  /**
   * An IQ before authentication goes to the module that handles its payload's namespace (e.g.
   * XEP-0077 registration); any other ends the stream, as it did before such modules.
   */
  async #onPreauthIq(e: Element): Promise<void> {
    const type = e.attrs['type'];
    const payload = e.elements[0];
    const handler = payload && this.#core.host(this.#host ?? '')?.preauthIq.get(payload.attrs['xmlns'] ?? '');
    const to = e.attrs['to'];
    // Only for the stream's own domain: nothing else can be addressed before authentication.
    const toHost = to === undefined || this.#core.prepHost(to) === this.#host;
    if (!handler || !toHost || (type !== 'get' && type !== 'set')) throw new StreamError('not-authorized', 'Authenticate first');
    if (++this.#preauthIqs > MAX_PREAUTH_IQS) throw new StreamError('policy-violation', 'Too many requests before authentication');
    this.#preauthStream ??= { peerAddress: this.transport.peerAddress, values: new Map() };
    const replyFrom = to === undefined ? {} : { from: this.#host };
    let result: Element | undefined;
    try {
      result = await handler({ stanza: e, payload, type, stream: this.#preauthStream });
    } catch (err) {
      if (err instanceof StanzaError) return this.write(errorReply(e, err, replyFrom));
      throw err;
    }
    if (!this.isClosed) this.write(el('iq', { type: 'result', id: e.attrs['id'] ?? '', ...replyFrom }, result ?? null));
  }

  // --- SASL2 (XEP-0388), with Bind 2 (XEP-0386) and FAST (XEP-0484): src/core/stream/sasl2.ts -----

  async #onSasl2(e: Element): Promise<void> {
    if (this.#user !== undefined) throw new StreamError('policy-violation', 'Already authenticated');
    this.#sasl2 ??= new Sasl2(this.#sasl2Stream());
    return this.#sasl2.onElement(e);
  }

  /** The stream's state changes SASL2 performs, each the one used without it. */
  #sasl2Stream(): Sasl2Stream {
    const core = this.#core;
    // Made at the first SASL2 element, after TLS: the header (and its 'from') is the final one.
    return {
      core,
      transport: this.transport,
      host: this.#host ?? core.defaultHost,
      log: this.log,
      streamFrom: this.#streamFrom,
      write: (e) => this.write(e),
      failedLogin: (condition) => this.#failedLogin(condition),
      authenticated: (user) => this.#authenticated(user),
      resume: (user, previd, h) => this.#smResume(user, previd, h),
      // The resource comes from the client's own id (XEP-0386 §2.2.1): a clash is the same client.
      bind: (user, resource, client) => this.#bindResource(user, resource, 'kick_old', client),
      enableSm: (request) => this.#smEnable(request),
      features: () => this.write(this.#features()),
      bound: (session) => this.#sessionBound(session),
    };
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
    const session = await this.#bindResource(this.#user ?? '', resource, this.#core.config.auth.resource_conflict);
    if (session instanceof StanzaError) {
      this.write(el('iq', { type: 'error', id }, session.toElement()));
      return;
    }
    this.write(el('iq', { type: 'result', id }, el('bind', { xmlns: NS_BIND }, el('jid', {}, session.jid.toString()))));
    await this.#sessionBound(session);
  }

  /**
   * Binds a resource and registers the session: the one path for <bind/> and Bind 2. With
   * `client` (Bind 2: the client's keyed id), the client's earlier sessions end first (XEP-0386
   * §2.2: "SHOULD terminate any earlier sessions from the same client").
   */
  async #bindResource(user: string, requested: string | undefined, policy: ConflictPolicy, client?: string): Promise<SessionInfo | StanzaError> {
    const host = this.#host ?? this.#core.defaultHost;
    if (client !== undefined) {
      for (const c of this.#core.sessions.accountConnections(host, user)) if (c instanceof ClientConnection && c.client === client) await this.#replace(c);
    }
    const choice = this.#core.sessions.chooseResource(host, user, requested, policy, this.#core.config.limits.max_resources_per_user);
    if ('error' in choice) return choice.error === 'conflict' ? new StanzaError('conflict') : new StanzaError('resource-constraint', 'Too many resources', 'cancel');
    if (choice.replaces) await this.#replace(choice.replaces);
    const conn = new ClientConnection(this, new Jid(user, host, choice.resource), client);
    this.#conn = conn;
    const session = this.#core.sessions.add(conn);
    this.#session = session;
    this.#cancelHandshakeDeadline?.();
    this.#cancelHandshakeDeadline = undefined;
    return session;
  }

  /** Ends a session another one replaces (unavailable presence first, then <conflict/>). */
  async #replace(old: SessionConnection): Promise<void> {
    const gone = this.#core.sessions.remove(old);
    if (gone) await this.#core.router.sessionClosed(gone);
    old.close(new StreamError('conflict', 'Replaced by a new connection'));
  }

  async #sessionBound(session: SessionInfo): Promise<void> {
    const host = session.host;
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

/** XEP-0198 'h': an unsigned 32-bit integer. */
function parseH(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^[0-9]{1,10}$/.test(raw)) return undefined;
  const h = Number(raw);
  return h < 2 ** 32 ? h : undefined;
}

/**
 * Ends a session for good: unbinds it at once (it stops being routable), then says it is
 * unavailable and hands on what the client never acknowledged (XEP-0198 §5 timeout, or a clean
 * close): messages go to the account's other resources, offline storage or a bounce, IQs bounce,
 * presence is dropped; nothing is lost.
 */
function unbind(core: ServerCore, conn: ClientConnection): { session: SessionInfo | undefined; pending: Unacked[] } {
  const sm = conn.sm;
  if (sm) resumable(core).delete(sm.id);
  return { session: core.sessions.remove(conn), pending: sm?.drain() ?? [] };
}

async function handOn(core: ServerCore, ended: { session: SessionInfo | undefined; pending: Unacked[] }, log: ServerCore['c2sLog']): Promise<void> {
  try {
    if (ended.session) await core.router.sessionClosed(ended.session);
  } catch (err) {
    log.warn({ err }, 'session cleanup failed');
  }
  for (const { stanza, receipt } of ended.pending) {
    // A copy whose original stays stored (offline storage) is simply not taken this time.
    if (receipt?.keepsCopy) {
      receipt.lost();
      continue;
    }
    try {
      const from = tryParseJid(stanza.attrs['from'] ?? '');
      const to = tryParseJid(stanza.attrs['to'] ?? '');
      if (stanza.name === 'presence' || !from || !to) continue;
      // Rerouted under the same receipt: its sender hears "handled" once the new copy is settled.
      if (receipt) await withReceipt(receipt, () => core.router.route(stanza, from, to));
      else await core.router.route(stanza, from, to);
    } catch (err) {
      log.warn({ err }, 'an unacknowledged stanza of an ended session could not be rerouted');
    } finally {
      receipt?.delivered();
    }
  }
}

function endSession(core: ServerCore, conn: ClientConnection, log: ServerCore['c2sLog']): Promise<void> {
  return handOn(core, unbind(core, conn), log);
}

/**
 * The stream's end of a bound session, registered in the session directory. With resumable
 * stream management it outlives its stream: detached, it keeps what is sent to the session until
 * the client resumes or the timeout ends the session.
 */
class ClientConnection implements SessionConnection {
  readonly jid: Jid;
  /** Bind 2: which client this is (a keyed hash of its SASL2 user-agent id). */
  readonly client: string | undefined;
  #stream: ClientStream | undefined;
  sm: StreamManagement | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #expire: (() => void) | undefined;

  constructor(stream: ClientStream, jid: Jid, client?: string) {
    this.#stream = stream;
    this.jid = jid;
    this.client = client;
  }

  get stream(): ClientStream | undefined {
    return this.#stream;
  }

  get backedUp(): boolean {
    return this.#stream ? this.#stream.backedUp : !(this.sm?.hasRoomFor(1) ?? false);
  }

  send(stanza: Element): boolean {
    if (this.#stream) return this.#stream.send(stanza);
    // Detached, waiting for resumption: kept (bounded) to be sent when the client comes back.
    const sm = this.sm;
    if (!sm) return false;
    const bytes = stanza.toString().length;
    if (!sm.hasRoomFor(bytes)) return false;
    sm.sent(stanza, bytes, currentReceipt());
    return true;
  }

  close(error?: StreamError): void {
    if (this.#stream) return this.#stream.close(error);
    clearTimeout(this.#expiry);
    this.#expire?.();
  }

  attach(stream: ClientStream): void {
    clearTimeout(this.#expiry);
    this.#expire = undefined;
    this.#stream = stream;
  }

  detach(ms: number, expire: () => void): void {
    this.#stream = undefined;
    this.#expire = expire;
    this.#expiry = setTimeout(() => {
      this.#expire = undefined;
      expire();
    }, ms).unref();
  }
}
