// Which messages the end-to-end encryption policy refuses: a one-to-one message (type chat, or
// normal, which clients also show in the chat) with a plaintext body and no OMEMO or OpenPGP
// payload. XEP-0380 names the scheme; a fallback body beside the payload is what those clients send.
import type { Element } from '../../core/xml/element.ts';

export const NS_EME = 'urn:xmpp:eme:0';

/** Accepted schemes: XEP-0380 namespace -> the payload element that carries the ciphertext. */
export const ACCEPTED_SCHEMES: ReadonlyMap<string, { name: string; xmlns: string; label: string }> = new Map([
  ['eu.siacs.conversations.axolotl', { name: 'encrypted', xmlns: 'eu.siacs.conversations.axolotl', label: 'OMEMO (XEP-0384 v0.3)' }],
  ['urn:xmpp:omemo:2', { name: 'encrypted', xmlns: 'urn:xmpp:omemo:2', label: 'OMEMO 2 (XEP-0384)' }],
  ['urn:xmpp:openpgp:0', { name: 'openpgp', xmlns: 'urn:xmpp:openpgp:0', label: 'OpenPGP for XMPP (XEP-0373)' }],
  ['jabber:x:encrypted', { name: 'x', xmlns: 'jabber:x:encrypted', label: 'legacy OpenPGP (XEP-0027)' }],
]);

function carries(stanza: Element, scheme: string): boolean {
  const payload = ACCEPTED_SCHEMES.get(scheme);
  return payload !== undefined && stanza.getChild(payload.name, payload.xmlns) !== undefined;
}

/** A message of a one-to-one chat (RFC 6121 §5.2.2: a missing type is 'normal'); groupchat, headline and error are not. */
export function isOneToOne(stanza: Element): boolean {
  const type = stanza.attrs['type'] ?? 'normal';
  return stanza.name === 'message' && (type === 'chat' || type === 'normal');
}

/** True when the message is end-to-end encrypted by an accepted scheme, or has no body to protect. */
export function isAcceptable(stanza: Element): boolean {
  if (stanza.getChild('body') === undefined) return true;
  const eme = stanza.getChild('encryption', NS_EME);
  // XEP-0380 §2: the EME element names the scheme; it must be an accepted one, with its payload.
  if (eme) return carries(stanza, eme.attrs['namespace'] ?? '');
  for (const scheme of ACCEPTED_SCHEMES.keys()) if (carries(stanza, scheme)) return true;
  return false;
}
