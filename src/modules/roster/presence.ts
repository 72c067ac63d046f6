// RFC 6121 §4: presence broadcast to the roster (§4.2 initial, §4.4 updates, §4.5 unavailable),
// probes and their answers (§4.3), and redelivery of pending subscription requests (§3.1.3).
import { Element, el } from '../../core/xml/element.ts';
import type { Jid } from '../../core/jid.ts';
import type { SessionInfo } from '../../core/session.ts';
import type { StanzaEvent } from '../../core/hooks.ts';
import type { Roster } from './roster-push.ts';
import { hasFrom, hasTo, type SubscriptionType } from './subscriptions.ts';

/** A presence stanza as the server sends it on someone's behalf, keeping the payload (show, status, caps...). */
function restamp(p: Element, from: string, to: string): Element {
  return new Element('presence', { ...p.attrs, from, to }, p.children);
}

export const NS_NICK = 'http://jabber.org/protocol/nick';

export function subscriptionStanza(type: SubscriptionType, from: string, to: string, status?: string, nick?: string): Element {
  return el(
    'presence',
    { type, from, to },
    status !== undefined ? el('status', {}, status) : null,
    nick !== undefined ? el('nick', { xmlns: NS_NICK }, nick) : null,
  );
}

/** §3.1.5 / §3.4: after an approval the contact gets the current presence of each available resource. */
export async function sendPresenceTo(r: Roster, user: string, to: string): Promise<void> {
  for (const s of r.ctx.sessions.available(r.ctx.host, user)) {
    if (s.presence) await r.ctx.route(restamp(s.presence, s.jid.toString(), to));
  }
}

/** §3.2.2 / §3.3.3: once a contact may no longer see the account, it is told each resource is gone. */
export async function sendUnavailableTo(r: Roster, user: string, to: string): Promise<void> {
  for (const s of r.ctx.sessions.available(r.ctx.host, user)) {
    await r.ctx.route(el('presence', { type: 'unavailable', from: s.jid.toString(), to }));
  }
}

/**
 * §4.2.2, §4.4.2, §4.5.2: presence without 'to' goes to every contact with a subscription from the
 * account ('from' or 'both': only they were allowed to see it) and to the account's own available
 * resources, the sender included (the router has already updated the session's presence).
 */
export async function broadcast(r: Roster, ev: StanzaEvent & { origin: SessionInfo }): Promise<void> {
  const session = ev.origin;
  const from = session.jid.toString();
  for (const [jid, item] of await r.store.all(session.user)) {
    if (!item.hidden && hasFrom(item.subscription)) await r.ctx.route(restamp(ev.stanza, from, jid));
  }
  for (const s of r.ctx.sessions.available(r.ctx.host, session.user)) await r.ctx.deliver(restamp(ev.stanza, from, s.jid.toString()));
}

/**
 * §4.2.2: after a resource's first available presence the server probes the contacts it is
 * subscribed to, and §3.1.3: delivers the subscription requests that waited for it.
 * The probes carry the new resource's full JID so the (local) answers reach only that resource:
 * the others already know every contact's presence.
 */
export async function initialPresence(r: Roster, session: SessionInfo): Promise<void> {
  const owner = session.jid.bareString;
  // The account is implicitly subscribed to itself: the new resource learns about its siblings.
  for (const s of r.ctx.sessions.available(r.ctx.host, session.user)) {
    if (s !== session && s.presence) await r.ctx.deliver(restamp(s.presence, s.jid.toString(), session.jid.toString()));
  }
  const items = await r.store.all(session.user);
  for (const [jid, item] of items) {
    if (item.pendingIn) await r.ctx.deliver(subscriptionStanza('subscribe', jid, owner, item.pendingStatus, item.pendingNick), session);
  }
  for (const [jid, item] of items) {
    if (!item.hidden && hasTo(item.subscription)) {
      await r.ctx.route(el('presence', { type: 'probe', from: session.jid.toString(), to: jid }));
    }
  }
}

/**
 * §4.3.2: a probe to a local account is answered by the server, never shown to the account.
 * Only a prober the account shares its presence with ('from'/'both') learns anything: the last
 * presence of each available resource, or unavailable when there is none.
 */
export async function answerProbe(r: Roster, ev: StanzaEvent): Promise<void> {
  const user = ev.to.local;
  const prober: Jid = ev.from;
  const owner = ev.to.bareString;
  const self = prober.bareString === owner;
  if (!self) {
    const item = await r.store.get(user, prober.bareString);
    if (!item || item.hidden || !hasFrom(item.subscription)) {
      // The server probes only contacts its user believes it is subscribed to; saying
      // 'unsubscribed' fixes that belief (§4.3.2). Probes sent by clients get no answer at all,
      // so a pending request of the prober is never cancelled by one.
      if (ev.origin === undefined) await r.ctx.route(subscriptionStanza('unsubscribed', owner, prober.bareString));
      return;
    }
  }
  const to = prober.toString();
  const available = r.ctx.sessions.available(r.ctx.host, user).filter((s) => !(self && s.jid.equals(prober)));
  for (const s of available) {
    if (s.presence) await r.ctx.route(restamp(s.presence, s.jid.toString(), to));
  }
  if (available.length === 0 && !self) await r.ctx.route(el('presence', { type: 'unavailable', from: owner, to }));
}
