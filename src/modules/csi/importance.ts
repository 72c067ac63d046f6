// What an inactive client (XEP-0352) can wait for, and what replaces what while it waits.
import type { Element } from '../../core/xml/element.ts';

const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates';
const NS_HINTS = 'urn:xmpp:hints';
const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_CLIENT = 'jabber:client';

/** A XEP-0085 notification and nothing else: no body, only chat states (and a thread or hints). */
function isChatStateOnly(message: Element): boolean {
  if (message.getChild('body')) return false;
  let state = false;
  for (const c of message.elements) {
    const ns = c.attrs['xmlns'];
    if (ns === NS_CHATSTATES) state = true;
    else if (ns !== NS_HINTS && !(c.name === 'thread' && (ns === undefined || ns === NS_CLIENT))) return false;
  }
  return state;
}

/** The message a XEP-0280 copy carries, if it is one. */
function carried(message: Element): Element | undefined {
  const wrapper = message.getChild('received', NS_CARBONS) ?? message.getChild('sent', NS_CARBONS);
  return wrapper?.getChild('forwarded', NS_FORWARD)?.getChild('message');
}

/**
 * The key under which a stanza to an inactive session `self` (its full JID) is held — a later
 * stanza with the same key replaces it — or undefined when it is important and goes out at once:
 * - presence updates (available or unavailable) from someone else: the latest per sender full JID;
 * - messages that are only chat states: the latest per sender (a carbon copy of one: per
 *   conversation), unless addressed to this very resource;
 * - everything else is important: a message with a body or any other content, an IQ, presence
 *   of any other type (subscriptions, errors), the client's own presence, a message to this resource.
 */
export function holdKey(stanza: Element, self: string): string | undefined {
  const from = stanza.attrs['from'] ?? '';
  const type = stanza.attrs['type'];
  if (stanza.name === 'presence') {
    if ((type !== undefined && type !== 'unavailable') || from === self) return undefined;
    return `p ${from}`;
  }
  if (stanza.name !== 'message') return undefined;
  const inner = carried(stanza);
  if (inner) return isChatStateOnly(inner) ? `c ${inner.attrs['from'] ?? ''} ${inner.attrs['to'] ?? ''}` : undefined;
  if (stanza.attrs['to'] === self) return undefined;
  return isChatStateOnly(stanza) ? `c ${from}` : undefined;
}
