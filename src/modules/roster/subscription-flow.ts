// RFC 6121 §3: presence subscription stanzas, outbound from a local client (§3.x.2) and inbound
// to a local account (§3.x.3), applying the Appendix A tables of subscriptions.ts to the stored
// roster, with roster pushes and the presence that must follow approvals and cancellations.
import { Element } from '../../core/xml/element.ts';
import { StanzaError } from '../../core/errors.ts';
import type { StanzaEvent } from '../../core/hooks.ts';
import { isEmptyHidden, newItem, subState, withState, type RosterItem } from './roster-store.ts';
import { push, type Roster } from './roster-push.ts';
import { hasFrom, inbound, isSubscriptionType, outbound } from './subscriptions.ts';
import { NS_NICK, sendPresenceTo, sendUnavailableTo, subscriptionStanza } from './presence.ts';

export interface FlowLimits {
  /** Pending requests from people not in the roster that are kept (beyond that, new ones are dropped). */
  maxPendingRequests: number;
}

/** The client-visible part of an item, to tell whether a change needs a push and a new version. */
function visibleKey(item: RosterItem | undefined): string {
  if (!item || item.hidden) return '';
  return JSON.stringify([item.name, item.groups, item.subscription, item.ask, item.approved]);
}

/**
 * Stores `next` for the contact (deleting a hidden entry with nothing left to remember) and pushes
 * it when the client-visible item changed. Call inside the user's lock.
 */
async function save(r: Roster, user: string, jid: string, prev: RosterItem | undefined, next: RosterItem): Promise<void> {
  if (prev && JSON.stringify(prev) === JSON.stringify(next)) return;
  const drop = isEmptyHidden(next);
  const visibleChange = visibleKey(prev) !== visibleKey(drop ? undefined : next);
  if (!visibleChange) {
    // Pending-in bookkeeping only: stored, but the roster the client sees (and its version) is unchanged.
    if (drop) {
      if (prev) await r.store.writeQuiet(user, jid, undefined);
    } else {
      await r.store.writeQuiet(user, jid, next);
    }
    return;
  }
  const ver = await r.store.write(user, jid, drop ? undefined : next);
  await push(r, user, jid, drop ? undefined : next, ver);
}

/** The stanza as routed: subscription stanzas are always between bare JIDs (§3.1.2). */
function stamped(stanza: Element, from: string, to: string): Element {
  return new Element('presence', { ...stanza.attrs, from, to }, stanza.children);
}

/** 'stanza/outbound': a subscription stanza from a local client. Returns true when handled. */
export async function onOutbound(r: Roster, ev: StanzaEvent): Promise<boolean> {
  const type = ev.stanza.attrs['type'];
  if (ev.stanza.name !== 'presence' || !isSubscriptionType(type)) return false;
  const user = ev.from.local;
  const owner = ev.from.bareString;
  const peer = ev.to.bareString;
  // The account is implicitly subscribed to itself; there is nothing to negotiate.
  if (peer === owner) return true;

  const outcome = await r.store.lock(user, async () => {
    const prev = await r.store.get(user, peer);
    const before = subState(prev);
    const res = outbound(before, type);
    // Asking for someone's presence, approving a request or pre-approving one puts the contact
    // in the roster (§3.1.2, §3.1.5, §3.4.1); nothing else creates an item.
    const adds = type === 'subscribe' || (type === 'subscribed' && (res.changed || res.preApprove));
    if (!prev && !adds) return { route: res.route, lostFrom: false };
    let next: RosterItem = prev ? { ...prev } : newItem();
    if (adds) delete next.hidden;
    if (res.changed) next = withState(next, res.next);
    if (res.preApprove) next.approved = true;
    // §3.4: 'unsubscribed' also withdraws a pre-approval.
    if (type === 'unsubscribed') delete next.approved;
    await save(r, user, peer, prev, next);
    return { route: res.route, lostFrom: hasFrom(before.subscription) && !hasFrom(res.next.subscription) };
  });

  if (outcome.route) await r.ctx.route(stamped(ev.stanza, owner, peer));
  // §3.1.5: on approval the contact receives the account's current presence; §3.2.2: on
  // revocation it is told each resource went unavailable.
  if (type === 'subscribed' && outcome.route) {
    await sendPresenceTo(r, user, peer);
    await r.ctx.hooks.emit('roster/presence-approved', { host: r.ctx.host, user, contact: peer });
  }
  if (type === 'unsubscribed' && outcome.lostFrom) await sendUnavailableTo(r, user, peer);
  return true;
}

/** 'presence/bare': a subscription stanza for a local account. Returns true when handled. */
export async function onInbound(r: Roster, ev: StanzaEvent, limits: FlowLimits): Promise<boolean> {
  const type = ev.stanza.attrs['type'];
  if (!isSubscriptionType(type)) return false;
  const user = ev.to.local;
  const owner = ev.to.bareString;
  const peer = ev.from.bareString;
  if (peer === owner) return true;

  const outcome = await r.store.lock(user, async () => {
    const prev = await r.store.get(user, peer);
    const before = subState(prev);
    const res = inbound(before, type, prev?.approved === true);
    if (!res.changed) return { deliver: res.deliver, autoReply: res.autoReply, lostFrom: false };
    if (!prev && type === 'subscribe' && !(await roomForRequest(r, user, limits))) {
      return { deliver: false, autoReply: false, lostFrom: false, full: true };
    }
    const next = withState(prev ? { ...prev } : newItem(true), res.next);
    if (res.usedApproval) delete next.approved;
    if (type === 'subscribe' && res.next.pendingIn) {
      const status = ev.stanza.getChildText('status');
      const nick = ev.stanza.getChildText('nick', NS_NICK);
      if (status !== undefined) next.pendingStatus = status;
      if (nick !== undefined) next.pendingNick = nick;
    }
    await save(r, user, peer, prev, next);
    return { deliver: res.deliver, autoReply: res.autoReply, lostFrom: hasFrom(before.subscription) && !hasFrom(res.next.subscription) };
  });

  if ('full' in outcome) {
    // Never a silent drop: the requester hears that the request was not kept (RFC 6120 §8.3).
    r.ctx.log.info('subscription request refused: too many pending requests');
    const error = new StanzaError('resource-constraint', 'This account has too many unanswered contact requests', 'wait');
    await r.ctx.route(new Element('presence', { type: 'error', from: owner, to: peer }, [error.toElement()]));
    return true;
  }
  if (outcome.deliver) {
    // A request with no available resource stays pending and is delivered at the next login
    // (initialPresence); notifications of other types only matter to resources online now.
    for (const s of r.ctx.sessions.available(r.ctx.host, user)) await r.ctx.deliver(stamped(ev.stanza, peer, owner), s);
  }
  if (outcome.autoReply) {
    // §3.1.3 (already subscribed) and §3.4 (pre-approved): the server answers for the account.
    await r.ctx.route(subscriptionStanza('subscribed', owner, peer));
    await sendPresenceTo(r, user, peer);
    await r.ctx.hooks.emit('roster/presence-approved', { host: r.ctx.host, user, contact: peer });
  }
  // §3.3.3: the contact cancelled its subscription, so it is told the account's resources are gone.
  if (type === 'unsubscribe' && outcome.lostFrom) await sendUnavailableTo(r, user, peer);
  return true;
}

/** Caps the requests kept from strangers, so request floods can't grow the store without bound. */
async function roomForRequest(r: Roster, user: string, limits: FlowLimits): Promise<boolean> {
  let hidden = 0;
  for (const item of (await r.store.all(user)).values()) if (item.hidden) hidden++;
  return hidden < limits.maxPendingRequests;
}
