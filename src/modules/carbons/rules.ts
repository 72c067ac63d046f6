// XEP-0280 §6 (which messages are copied), §8 (<private/>) with XEP-0334 <no-copy/>, and the
// XEP-0297 wrapping of a copy (§6, §7).
import { el, type Element } from '../../core/xml/element.ts';
import type { Jid } from '../../core/jid.ts';

export const NS_CARBONS = 'urn:xmpp:carbons:2';
export const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_HINTS = 'urn:xmpp:hints';
const NS_CLIENT = 'jabber:client';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/**
 * §6, the XEP's suggested rules: type "chat"; type "normal" (or none, RFC 6121 §5.2.2) with a
 * <body/>; not from a MUC (a private message carries muc#user). Never a message marked
 * <private/> (§8) or <no-copy/> (XEP-0334 §4.3), nor a copy itself.
 */
export function carbonsEligible(message: Element): boolean {
  if (message.name !== 'message') return false;
  const type = message.attrs['type'] ?? 'normal';
  if (type === 'chat') {
    // eligible
  } else if (type === 'normal') {
    if (!message.getChild('body')) return false;
  } else {
    return false;
  }
  if (message.getChild('private', NS_CARBONS) || message.getChild('no-copy', NS_HINTS)) return false;
  if (message.getChild('received', NS_CARBONS) || message.getChild('sent', NS_CARBONS)) return false;
  return !message.getChild('x', NS_MUC_USER);
}

/**
 * The copy for one resource: same 'type', 'from' the account's bare JID, 'to' the resource's
 * full JID, <sent/> or <received/> holding <forwarded/> with the original (in jabber:client,
 * which it would not inherit inside <forwarded/>).
 */
export function wrapCarbon(kind: 'sent' | 'received', message: Element, to: Jid): Element {
  const inner = message.clone();
  inner.attrs['xmlns'] = NS_CLIENT;
  return el(
    'message',
    { from: to.bareString, to: to.toString(), type: message.attrs['type'] },
    el(kind, { xmlns: NS_CARBONS }, el('forwarded', { xmlns: NS_FORWARD }, inner)),
  );
}
