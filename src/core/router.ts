// Stanza routing: RFC 6120 §10 (server rules: §10.3 no 'to', §10.4 remote domain, §10.5 local domain)
// and RFC 6121 §8.5 (delivery to local accounts, stanza kind by stanza kind), with IQ dispatch that
// guarantees exactly one reply to every get/set (RFC 6120 §8.2.3) and never an error in reply to an
// error (RFC 6120 §8.3.1).
//
// Where the RFC lets the server choose, the choice is Prosody's unless a comment says otherwise.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Element } from './xml/element.ts';
import { tryParseJid, type Jid } from './jid.ts';
import { StanzaError } from './errors.ts';
import { StorageBusyError } from './storage.ts';
import type { Hooks, StanzaEvent } from './hooks.ts';
import type { SessionInfo } from './session.ts';
import type { SessionManager } from './sessions.ts';
import { errorReply, isAnswerable } from './stanza-errors.ts';
import type { Accounts } from './accounts.ts';
import type { IqHandler, IqRequest, IqTarget } from './modules.ts';
import { IqRequests } from './iq-requests.ts';

type MessageType = 'normal' | 'chat' | 'groupchat' | 'headline' | 'error';

/** RFC 6121 §5.2.2: no 'type', or one the recipient does not understand, means "normal". */
function messageType(stanza: Element): MessageType {
  const t = stanza.attrs['type'];
  return t === 'chat' || t === 'groupchat' || t === 'headline' || t === 'error' ? t : 'normal';
}

/** Presence types that RFC 6121 §3 (subscriptions) and §4.3 (probes) handle per account, not per resource. */
function isAccountPresence(type: string | undefined): boolean {
  return type === 'subscribe' || type === 'subscribed' || type === 'unsubscribe' || type === 'unsubscribed' || type === 'probe';
}

/** "Most available" (RFC 6121 §8.5.2.1.1): the non-negative resources sharing the highest priority. */
function mostAvailable(sessions: SessionInfo[]): SessionInfo[] {
  const candidates = sessions.filter((s) => s.priority >= 0);
  if (candidates.length === 0) return [];
  const top = Math.max(...candidates.map((s) => s.priority));
  return candidates.filter((s) => s.priority === top);
}

/** A service on its own domain (e.g. conference.example.org): it gets every stanza to that domain and its JIDs. */
export type ServiceHandler = (stanza: Element, from: Jid, to: Jid) => Promise<void> | void;

/** Where stanzas to domains this server does not serve go: federation plugs in here. */
export interface RemoteDomains {
  route(stanza: Element, from: Jid, to: Jid): Promise<void>;
}

/** The domain table: which domains are local accounts, which a module's service, the rest remote. */
export type DomainKind = 'accounts' | 'service' | 'remote';

export class Router {
  readonly #sessions: SessionManager;
  readonly #accounts: Accounts;
  readonly #hooks: (host: string) => Hooks | undefined;
  readonly #log: Logger;
  /** `${host} ${target} ${type} ${ns} ${name}` -> handler */
  readonly #iq = new Map<string, IqHandler>();
  /** IQs the server sent and the replies it waits for. */
  readonly requests = new IqRequests();
  /** Service domains claimed by modules. */
  readonly #services = new Map<string, ServiceHandler>();
  /** Until federation lands: a route that cannot be had is an error for the sender (RFC 6120 §10.4.3). */
  #remote: RemoteDomains = {
    route: (stanza, from, to) => this.bounce(stanza, from, to, new StanzaError('remote-server-not-found', 'Federation with remote domains is not available')),
  };

  constructor(sessions: SessionManager, accounts: Accounts, hooks: (host: string) => Hooks | undefined, log: Logger) {
    this.#sessions = sessions;
    this.#accounts = accounts;
    this.#hooks = hooks;
    this.#log = log;
  }

  /** Registers an IQ handler; returns the function that removes it. Duplicates are a start-up error. */
  addIqHandler(host: string, target: IqTarget, type: 'get' | 'set', ns: string, name: string, handler: IqHandler): () => void {
    const key = `${host} ${target} ${type} ${ns} ${name}`;
    if (this.#iq.has(key)) throw new Error(`IQ handler already registered: ${key}`);
    this.#iq.set(key, handler);
    return () => this.#iq.delete(key);
  }

  /** Claims a service domain; returns the function that releases it. Two claims are a start-up error. */
  claimService(domain: string, handler: ServiceHandler): () => void {
    if (this.#services.has(domain) || this.#hooks(domain)) throw new Error(`domain already served: ${domain}`);
    this.#services.set(domain, handler);
    return () => this.#services.delete(domain);
  }

  /** The service domains claimed (certificate checks: each host's certificate should cover its own). */
  serviceDomains(): string[] {
    return [...this.#services.keys()];
  }

  /** Sets where stanzas to remote domains go (the federation adapter). */
  setRemote(remote: RemoteDomains): void {
    this.#remote = remote;
  }

  domainKind(domain: string): DomainKind {
    if (this.#hooks(domain)) return 'accounts';
    return this.#services.has(domain) ? 'service' : 'remote';
  }

  /** Served here: an account domain or a service domain. */
  isLocal(domain: string): boolean {
    return this.domainKind(domain) !== 'remote';
  }

  /** A stanza from a bound local client, already validated and stamped with its full JID. */
  async fromClient(session: SessionInfo, stanza: Element, to: Jid | undefined): Promise<void> {
    const from = session.jid;
    const name = stanza.name;
    const hooks = this.#hooks(session.host);
    // RFC 6120 §10.3: no 'to' means a broadcast (presence, §10.3.2) or the sender's own account
    // (message §10.3.1, IQ §10.3.3: handled "as if the server were the bare JID of the sending entity").
    if (to === undefined) {
      if (name === 'presence') return this.#presenceFromClient(session, stanza);
      to = from.bare();
    }
    if (hooks && (await hooks.emit('stanza/outbound', { stanza, from, to, origin: session }))) return;
    if (name === 'presence') this.#trackDirectedPresence(session, stanza, to);
    await this.route(stanza, from, to, session);
  }

  /**
   * RFC 6121 §4.6: remember where directed presence went, so those entities hear when this
   * resource goes offline (§4.6.3); a directed unavailable ends it. The account's own bare JID
   * is not tracked: its resources learn about each other through the broadcast.
   */
  #trackDirectedPresence(session: SessionInfo, stanza: Element, to: Jid): void {
    const type = stanza.attrs['type'];
    if (type !== undefined && type !== 'unavailable') return;
    if (to.isBare && to.equals(session.jid.bare())) return;
    const directed = this.#sessions.directed(session);
    if (type === undefined) directed.add(to.toString());
    else directed.delete(to.toString());
  }

  /** Routes any stanza (from a client or generated by the server/modules). */
  async route(stanza: Element, from: Jid, to: Jid, origin?: SessionInfo): Promise<void> {
    if (stanza.name === 'presence' && stanza.attrs['type'] === 'unavailable' && from.resource !== '') {
      // Unavailable presence from a local resource, whoever routes it (the client, or a module on
      // its behalf), ends the directed presence it had sent there (RFC 6121 §4.6.3).
      const sender = this.#sessions.get(from.toString());
      if (sender) this.#sessions.directed(sender).delete(to.toString());
    }
    switch (this.domainKind(to.domain)) {
      case 'remote':
        // RFC 6120 §10.4: a remote domain; the federation adapter, or a bounce until there is one.
        return this.#remote.route(stanza, from, to);
      case 'service':
        return this.#toService(stanza, from, to);
      case 'accounts':
        break;
    }
    // RFC 6120 §10.5: <domainpart> and <domainpart/resourcepart> are the server itself (§10.5.1, §10.5.2);
    // accounts follow RFC 6121 §8.5, which refines §10.5.3 and §10.5.4 for IM servers.
    if (to.local === '') return this.#toHost(stanza, from, to, origin);
    return this.#toAccount(stanza, from, to, origin);
  }

  /**
   * Sends an error reply to the sender: same kind and id, 'from' and 'to' swapped (RFC 6120 §8.3.1),
   * unless the stanza is itself an error or an IQ result, which are never answered (§8.3.1, §8.2.3).
   */
  async bounce(stanza: Element, from: Jid, to: Jid, error: StanzaError): Promise<void> {
    if (!isAnswerable(stanza)) return;
    if (!this.isLocal(from.domain)) return;
    await this.route(errorReply(stanza, error, { from: to.toString(), to: from.toString() }), to, from);
  }

  /** RFC 6120 §10.5 for a service domain: the module that claimed it handles the stanza, errors bounce. */
  async #toService(stanza: Element, from: Jid, to: Jid): Promise<void> {
    const handler = this.#services.get(to.domain);
    if (!handler) return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
    try {
      await handler(stanza, from, to);
    } catch (e) {
      if (e instanceof StanzaError) return this.bounce(stanza, from, to, e);
      const errorId = randomUUID();
      this.#log.error({ err: e, errorId, service: to.domain }, 'service failed');
      return this.bounce(stanza, from, to, new StanzaError('internal-server-error', `Error id ${errorId}`));
    }
  }

  /**
   * Hands a stanza to one bound session (ctx.deliver): the account's inbound filters run first,
   * so no module can bypass blocking. False when the session is gone or backed up.
   */
  async deliverToSession(stanza: Element, from: Jid, session: Jid): Promise<boolean> {
    const target = this.#sessions.get(session.toString());
    if (!target) return false;
    const hooks = this.#hooks(session.domain);
    if (hooks && (await hooks.emit('stanza/inbound', { stanza, from, to: session, origin: undefined }))) return true;
    return this.#handTo(target, this.#stamp(stanza, from, session));
  }

  /**
   * The one point where a stanza is handed to a bound session: the 'stanza/deliver' hook may
   * hold it (XEP-0352 CSI) and release it later; held counts as taken. False when the session
   * refused it (gone or backed up): the caller stores or bounces it.
   */
  #handTo(session: SessionInfo, stanza: Element): boolean {
    const release = (): boolean => this.#sessions.deliver(session.node, session.jid.toString(), stanza);
    const hooks = this.#hooks(session.host);
    if (hooks?.has('stanza/deliver') && hooks.emitSync('stanza/deliver', { stanza, session, release })) return true;
    return release();
  }

  async #presenceFromClient(session: SessionInfo, stanza: Element): Promise<void> {
    const type = stanza.attrs['type'];
    if (type !== undefined && type !== 'unavailable') {
      // Subscription requests and probes need a 'to' (RFC 6121 §3.1.1): nothing to broadcast.
      if (type === 'error') return;
      throw new StanzaError('bad-request', `presence of type ${type} needs a 'to' address`);
    }
    const hooks = this.#hooks(session.host);
    const wasAvailable = session.presence !== undefined;
    if (type === undefined) {
      // RFC 6121 §4.7.2.3: an integer from -128 to +127; absent means zero.
      const p = Number.parseInt(stanza.getChildText('priority') ?? '0', 10);
      this.#sessions.setPresence(session, stanza, Number.isFinite(p) ? Math.max(-128, Math.min(127, p)) : 0);
    } else {
      this.#sessions.setPresence(session, undefined, 0);
    }
    if (hooks) {
      await hooks.emit('presence/broadcast', { stanza, from: session.jid, to: session.jid.bare(), origin: session });
      if (!wasAvailable && type === undefined) await hooks.emit('session/initial-presence', { session });
    }
    if (type === 'unavailable') await this.#endDirectedPresence(session, stanza);
  }

  /** RFC 6121 §4.6.3: going offline tells everyone we sent directed presence to. */
  async #endDirectedPresence(session: SessionInfo, unavailable: Element): Promise<void> {
    const directed = this.#sessions.directed(session);
    const targets = [...directed];
    directed.clear();
    for (const t of targets) {
      const to = tryParseJid(t);
      if (!to) continue;
      const p = new Element('presence', { ...unavailable.attrs, type: 'unavailable', from: session.jid.toString(), to: t }, unavailable.children.filter((c) => typeof c !== 'string' && c.name === 'status'));
      await this.route(p, session.jid, to, session);
    }
  }

  /** Called by the stream when a bound session goes away without saying unavailable. */
  async sessionClosed(session: SessionInfo): Promise<void> {
    if (session.presence !== undefined) {
      const unavailable = new Element('presence', { type: 'unavailable' });
      await this.#presenceFromClient(session, unavailable).catch((e: unknown) => this.#log.warn({ err: e }, 'presence on close failed'));
    } else if (this.#sessions.directed(session).size) {
      await this.#endDirectedPresence(session, new Element('presence', { type: 'unavailable' }));
    }
    await this.#hooks(session.host)?.emit('session/closed', { session });
  }

  /**
   * RFC 6120 §10.5.1/§10.5.2: the server itself, which "process[es] the stanza as appropriate for the
   * stanza kind" or returns an error. A <domainpart/resourcepart> address is handled as the domain,
   * as Prosody does: this server has no per-resource services of its own.
   */
  async #toHost(stanza: Element, from: Jid, to: Jid, origin: SessionInfo | undefined): Promise<void> {
    const hooks = this.#hooks(to.domain);
    const event: StanzaEvent = { stanza, from, to, origin };
    switch (stanza.name) {
      case 'iq':
        return this.#dispatchIq(stanza, from, to, 'host', origin);
      case 'message':
        if (hooks && (await hooks.emit('message/host', event))) return;
        // Nothing on the server takes messages: tell the sender (bounce() drops errors).
        return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
      case 'presence':
        if (hooks) await hooks.emit('presence/host', event);
        return;
    }
  }

  async #toAccount(stanza: Element, from: Jid, to: Jid, origin: SessionInfo | undefined): Promise<void> {
    const hooks = this.#hooks(to.domain);
    const name = stanza.name;
    const live = this.#sessions.resources(to.domain, to.local);
    // RFC 6121 §8.5.1 (RFC 6120 §10.5.3.1): no such account. Presence of every type is silently ignored (for probes the
    // RFC also allows an 'unsubscribed' answer; silence says nothing about the account). Messages:
    // "(a) silently ignore ... or (b) return a <service-unavailable/>": (b), except for headlines: nobody
    // expects an answer to a notification, and Prosody drops them too. IQs: <service-unavailable/>.
    // bounce() drops errors and IQ results, which are never answered (RFC 6120 §8.3.1).
    if (live.length === 0 && !(await this.#accounts.exists(to.domain, to.local))) {
      if (name === 'presence' || (name === 'message' && messageType(stanza) === 'headline')) return;
      return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
    }
    const event: StanzaEvent = { stanza, from, to, origin };
    if (hooks && (await hooks.emit('stanza/inbound', event))) return;
    if (to.resource !== '') return this.#toFullJid(stanza, from, to, event);
    switch (name) {
      case 'message':
        return this.#messageToBare(stanza, from, to, event);
      case 'presence':
        return this.#presenceToBare(stanza, from, to, event);
      case 'iq':
        // RFC 6121 §8.5.2.1.3 / §8.5.2.2.3: the server answers for the account (result, or
        // <service-unavailable/> when nothing handles the payload) and never hands the IQ to a resource.
        return this.#dispatchIq(stanza, from, to, 'account', origin);
    }
  }

  /** RFC 6121 §8.5.3: <localpart@domainpart/resourcepart>. */
  async #toFullJid(stanza: Element, from: Jid, to: Jid, event: StanzaEvent): Promise<void> {
    const type = stanza.attrs['type'];
    // §8.5.3.1 / §8.5.3.2.2: subscription stanzas follow §3 and probes §4.3 whatever the resource:
    // they concern the account, so they are handled exactly as if sent to the bare JID.
    if (stanza.name === 'presence' && isAccountPresence(type)) {
      return this.#presenceToBare(stanza, from, to.bare(), { ...event, to: to.bare() });
    }
    // §8.5.3.1: an available or connected resource matches exactly: it gets the stanza, whatever
    // its kind, type or priority (negative priority only keeps bare-JID messages away, §4.7.2.3).
    // Not done: the SHOULD of §8.5.3.1 to refuse IQ get/set from entities the account shares no
    // presence with; that needs the roster, which the router does not see.
    const target = this.#sessions.get(to.toString());
    if (target && this.#handTo(target, this.#stamp(stanza, from, to))) return;
    // §8.5.3.2: no resource matches, or (issue 7) the one that matches is not reading and may not
    // be buffered for: then it is handled as if that resource were gone, so nothing is dropped.
    switch (stanza.name) {
      case 'message':
        return this.#messageToGoneResource(stanza, from, to, event);
      case 'presence':
        // §8.5.3.2.2: available and unavailable presence "MUST silently ignore"; errors likewise.
        return;
      case 'iq':
        // §8.5.3.2.3: <service-unavailable/>; results and errors are never answered (bounce() drops them).
        return this.bounce(stanza, from, to, target ? new StanzaError('resource-constraint', 'The recipient is not reading its connection', 'wait') : new StanzaError('service-unavailable'));
    }
  }

  /** RFC 6121 §8.5.3.2.1: a message to a full JID with no such resource. */
  async #messageToGoneResource(stanza: Element, from: Jid, to: Jid, event: StanzaEvent): Promise<void> {
    switch (messageType(stanza)) {
      case 'chat':
        // Handled as if sent to the bare JID: the most available resources, else offline storage.
        return this.#messageToBare(stanza, from, to.bare(), { ...event, to: to.bare() });
      case 'normal':
      case 'groupchat':
        // "MUST either (a) silently ignore the stanza or (b) return an error stanza ... SHOULD be
        // <service-unavailable/>": the sender learns it was not delivered. (Prosody handles normal
        // like chat here, which the RFC does not allow, and bounces groupchat.)
        return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
      case 'headline':
        // Same choice, silence for headlines as Prosody does: notifications expect no answer.
        return;
      case 'error':
        // "MUST silently ignore".
        return;
    }
  }

  /** RFC 6121 §8.5.2.1.1 (some resource available) and §8.5.2.2.1 (none): a message to a bare JID. */
  async #messageToBare(stanza: Element, from: Jid, to: Jid, event: StanzaEvent): Promise<void> {
    // Only available resources with non-negative priority ever get bare-JID messages (§8.5.2.1.1,
    // §4.7.2.3); a resource that is connected but sent no presence is not a candidate either.
    const available = this.#sessions.available(to.domain, to.local);
    switch (messageType(stanza)) {
      case 'groupchat':
        // "MUST NOT deliver the stanza to any of the available resources but instead MUST return a
        // stanza error to the sender, which SHOULD be <service-unavailable/>" (both subsections).
        return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
      case 'error':
        // "MUST silently ignore the message" (both subsections).
        return;
      case 'headline':
        // "MUST deliver the message to all of the non-negative resources"; none: "silently ignore".
        this.#deliver(stanza, from, to, available.filter((s) => s.priority >= 0));
        return;
      case 'normal':
      case 'chat': {
        // More than one non-negative resource: "(a) the most available resource or resources ... or
        // (b) all of the non-negative resources [chat: that have opted in]". (a), as Prosody: every
        // resource sharing the highest priority (copies for the others are Message Carbons' job, XEP-0280).
        const targets = mostAvailable(available);
        if (this.#deliver(stanza, from, to, targets) > 0) return;
        // No non-negative resource: "(a) store the message offline ... or (b) return a stanza error
        // ... <service-unavailable/>". Storage is the offline module's; without it (or when it
        // declines: full queue, no-store hint), the sender gets the error.
        const hooks = this.#hooks(to.domain);
        if (hooks && (await hooks.emit('message/offline', event))) return;
        return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
      }
    }
  }

  /** RFC 6121 §8.5.2.1.2 / §8.5.2.2.2: presence to a bare JID. */
  async #presenceToBare(stanza: Element, from: Jid, to: Jid, event: StanzaEvent): Promise<void> {
    const type = stanza.attrs['type'];
    const hooks = this.#hooks(to.domain);
    // Subscriptions (§3) and probes (§4.3) are the roster module's; without it they go nowhere:
    // a probe is never shown to the account, and subscription state has nowhere to live.
    if (hooks && (await hooks.emit('presence/bare', event))) return;
    if (type !== undefined && type !== 'unavailable' && type !== 'error') return;
    // No type or "unavailable": "MUST deliver it to all available resources" (negative priority
    // included), none available: "SHOULD silently ignore" (nothing is stored, §8.5.2.2.2).
    // Errors (e.g. about a subscription request, which goes out from the bare JID) are not covered
    // by §8.5.2.1.2; like Prosody, the available resources get them.
    this.#deliver(stanza, from, to, this.#sessions.available(to.domain, to.local));
  }

  /** Returns how many sessions took the stanza (a closed or backed-up one refuses it). */
  #deliver(stanza: Element, from: Jid, to: Jid, sessions: SessionInfo[]): number {
    let taken = 0;
    for (const s of sessions) if (this.#handTo(s, this.#stamp(stanza, from, to))) taken++;
    return taken;
  }

  /** The stanza as delivered: 'from' as routed; 'to' as the sender wrote it, never rewritten (§8.5.2.1.1). */
  #stamp(stanza: Element, from: Jid, to: Jid): Element {
    const attrs = stanza.attrs;
    if (attrs['from'] === from.toString() && attrs['to'] !== undefined) return stanza;
    return new Element(stanza.name, { ...attrs, from: from.toString(), to: attrs['to'] ?? to.toString() }, stanza.children);
  }

  async #dispatchIq(stanza: Element, from: Jid, to: Jid, target: IqTarget, origin: SessionInfo | undefined): Promise<void> {
    const type = stanza.attrs['type'];
    if (type === 'result' || type === 'error') {
      // Replies to the server itself (our own requests, our pings), or to an account that the
      // server answers for, are consumed here: RFC 6120 §10.3.3 step 3 and §8.2.3 (a response is
      // never answered).
      if (target === 'host') this.requests.settle(stanza, from.toString());
      return;
    }
    const payload = stanza.elements[0];
    if (!payload || (type !== 'get' && type !== 'set')) {
      return this.bounce(stanza, from, to, new StanzaError('bad-request', 'An IQ get/set needs exactly one payload'));
    }
    const handler = this.#iq.get(`${to.domain} ${target} ${type} ${payload.attrs['xmlns'] ?? ''} ${payload.name}`);
    if (!handler) return this.bounce(stanza, from, to, new StanzaError('service-unavailable'));
    const req: IqRequest = { stanza, payload, from, to, isSelf: from.bare().equals(to), origin };
    let result: Element | undefined;
    try {
      result = await handler(req);
    } catch (e) {
      if (e instanceof StanzaError) return this.bounce(stanza, from, to, e);
      if (e instanceof StorageBusyError) return this.bounce(stanza, from, to, new StanzaError('resource-constraint', 'The server is busy; try again', 'wait'));
      const errorId = randomUUID();
      this.#log.error({ err: e, errorId, iq: payload.attrs['xmlns'] }, 'IQ handler failed');
      return this.bounce(stanza, from, to, new StanzaError('internal-server-error', `Error id ${errorId}`));
    }
    const reply = new Element('iq', { type: 'result', id: stanza.attrs['id'] ?? '', from: to.toString(), to: from.toString() }, result ? [result] : []);
    await this.route(reply, to, from);
  }
}
