// XEP-0313 §6.1.1 (user archives): which one-to-one messages go into the archive. "All of the
// messages a user sends or receives of type 'normal' or 'chat' that contain a <body>", plus other
// conversation payloads (end-to-end encrypted messages carry no readable body), never groupchat
// or errors, and never what XEP-0334 asks not to keep.
import type { Element } from '../../core/xml/element.ts';

const NS_HINTS = 'urn:xmpp:hints';
const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_MAM = 'urn:xmpp:mam:2';
const NS_CLIENT = 'jabber:client';

/** Payloads that stand for a message's content where a body may be missing or a fallback. */
const CONTENT: readonly [name: string, ns: string][] = [
  ['encrypted', 'eu.siacs.conversations.axolotl'], // OMEMO (XEP-0384 0.3, as Conversations sends it)
  ['encrypted', 'urn:xmpp:omemo:2'], // OMEMO (XEP-0384 0.8+)
  ['openpgp', 'urn:xmpp:openpgp:0'], // XEP-0373
  ['x', 'jabber:x:encrypted'], // XEP-0027
];

function hasBody(message: Element): boolean {
  return message.getChildren('body').some((b) => b.attrs['xmlns'] === undefined || b.attrs['xmlns'] === NS_CLIENT);
}

/** Whether a one-to-one message belongs in a user archive (before preferences are applied). */
export function isArchivable(message: Element): boolean {
  if (message.name !== 'message') return false;
  // RFC 6121 §5.2.2: a type the server does not know is handled as 'normal'.
  const type = message.attrs['type'];
  if (type === 'groupchat' || type === 'headline' || type === 'error') return false;
  // XEP-0334 §4.2/§4.3: "no-permanent-store" and "no-store" keep it out of any archive.
  if (message.getChild('no-store', NS_HINTS) || message.getChild('no-permanent-store', NS_HINTS)) return false;
  // Copies and archive results carry a message inside: the message itself is archived once.
  if (message.getChild('sent', NS_CARBONS) || message.getChild('received', NS_CARBONS) || message.getChild('result', NS_MAM)) return false;
  if (hasBody(message)) return true;
  if (CONTENT.some(([name, ns]) => message.getChild(name, ns))) return true;
  // XEP-0334 §4.4: <store/> asks for it to be kept although it has no body.
  return message.getChild('store', NS_HINTS) !== undefined;
}
