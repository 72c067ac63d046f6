// XEP-0160 §3 (which messages are stored offline) with the XEP-0334 storage hints.
import type { Element } from '../../core/xml/element.ts';

const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates';
const NS_HINTS = 'urn:xmpp:hints';
const NS_CLIENT = 'jabber:client';

export type OfflineVerdict =
  /** Keep it for the account's next session. */
  | 'store'
  /** Nothing worth keeping (a typing notification): dropped without an error. */
  | 'drop'
  /** Not for offline storage: the sender learns it was not delivered (RFC 6121 §8.5.2.2.1). */
  | 'refuse';

/** Elements that say nothing on their own: chat states, the thread id, and the hints themselves. */
function isIncidental(child: Element): boolean {
  const ns = child.attrs['xmlns'];
  if (ns === NS_CHATSTATES || ns === NS_HINTS) return true;
  return child.name === 'thread' && (ns === undefined || ns === NS_CLIENT);
}

export function offlineVerdict(message: Element): OfflineVerdict {
  const type = message.attrs['type'] ?? 'normal';
  // §3: normal and chat "SHOULD be stored offline"; groupchat, headline and error "SHOULD NOT".
  if (type !== 'normal' && type !== 'chat') return 'refuse';
  const children = message.elements;
  // XEP-0334 (no-store hint): <no-store/> "should not be stored by a server ... temporarily, e.g. for later
  // delivery to an offline client".
  if (children.some((c) => c.name === 'no-store' && c.attrs['xmlns'] === NS_HINTS)) return 'refuse';
  // XEP-0334 (store hint): <store/> asks for storage of what would otherwise not be kept.
  if (children.some((c) => c.name === 'store' && c.attrs['xmlns'] === NS_HINTS)) return 'store';
  // §3: chat "with the exception of messages that contain only XEP-0085 content".
  return children.some((c) => !isIncidental(c)) ? 'store' : 'drop';
}
