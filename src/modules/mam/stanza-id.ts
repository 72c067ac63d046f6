// XEP-0359 Unique and Stable Stanza IDs: the <stanza-id/> that tells a client where and under which
// id the server archived a message (XEP-0313 §3.5, 'by' = the archive's address, the bare JID).
import { randomBytes } from 'node:crypto';
import { el, type Element } from '../../core/xml/element.ts';

export const NS_SID = 'urn:xmpp:sid:0';

/** XEP-0313 §3: "A server-assigned UID that MUST be unpredictable and unique within the archive". */
export function newArchiveId(): string {
  return randomBytes(12).toString('base64url');
}

export function stanzaIdElement(by: string, id: string): Element {
  return el('stanza-id', { xmlns: NS_SID, by, id });
}

/** The stanza-ids that claim to be by `by`. */
export function stanzaIdsBy(message: Element, by: string): Element[] {
  return message.getChildren('stanza-id', NS_SID).filter((s) => s.attrs['by'] === by);
}

/**
 * XEP-0359: an entity "MUST remove" stanza-ids claiming its own 'by' from stanzas it did not
 * stamp, so nobody can plant a fake archive id; removes them in place.
 */
export function stripStanzaIdsBy(message: Element, by: string): void {
  const claimed = stanzaIdsBy(message, by);
  if (claimed.length > 0) message.children = message.children.filter((c) => typeof c === 'string' || !claimed.includes(c));
}
