// XEP-0203 Delayed Delivery: the <delay/> a server adds to a stanza it held back.
import { el, type Element } from '../../core/xml/element.ts';

export const NS_DELAY = 'urn:xmpp:delay';

/** <delay xmlns='urn:xmpp:delay' from=… stamp=…/>; the stamp is a XEP-0082 DateTime in UTC. */
export function delayElement(from: string, when: Date, reason?: string): Element {
  return el('delay', { xmlns: NS_DELAY, from, stamp: when.toISOString() }, reason);
}
