// RFC 6121 §2.1 roster item syntax and §2.3.3 roster set validation (pure, no I/O).
import { el, type Element } from '../../core/xml/element.ts';
import { StanzaError } from '../../core/errors.ts';
import { tryParseJid, type Jid } from '../../core/jid.ts';
import type { RosterItem } from './roster-store.ts';

export const NS_ROSTER = 'jabber:iq:roster';
export const NS_FEATURE_ROSTERVER = 'urn:xmpp:features:rosterver';
export const NS_FEATURE_PREAPPROVAL = 'urn:xmpp:features:pre-approval';

export interface RosterLimits {
  /** Characters of the 'name' attribute and of each <group/>. */
  maxNameLength: number;
  maxGroups: number;
}

export interface RosterSetRequest {
  jid: Jid;
  remove: boolean;
  name: string | undefined;
  groups: string[];
}

/** The <item/> as a client sees it (§2.1.2): pending-in and hidden entries have no syntax. */
export function itemElement(jid: string, item: RosterItem): Element {
  return el(
    'item',
    {
      jid,
      name: item.name,
      subscription: item.subscription,
      ask: item.ask,
      approved: item.approved ? 'true' : undefined,
    },
    ...item.groups.map((g) => el('group', {}, g)),
  );
}

export function removedItemElement(jid: string): Element {
  return el('item', { jid, subscription: 'remove' });
}

/**
 * Validates a roster set (§2.3.3) and returns what it asks for. Throws the StanzaError the RFC
 * names: bad-request for structure, not-acceptable for names and groups, jid-malformed for the JID.
 */
export function parseRosterSet(query: Element, limits: RosterLimits): RosterSetRequest {
  const items = query.getChildren();
  if (items.length !== 1 || items[0]?.name !== 'item') {
    throw new StanzaError('bad-request', 'A roster set must contain exactly one <item/>');
  }
  const item = items[0];
  const rawJid = item.attrs['jid'];
  if (rawJid === undefined) throw new StanzaError('bad-request', "The <item/> needs a 'jid' attribute");
  const jid = tryParseJid(rawJid);
  if (!jid) throw new StanzaError('jid-malformed', "The 'jid' attribute is not a valid JID");
  // §2.1.2.5: in a roster set every 'subscription' value other than "remove" is ignored, as are
  // 'ask' (§2.1.2.2) and 'approved' (§2.1.2.1): only the server decides subscription state.
  if (item.attrs['subscription'] === 'remove') return { jid, remove: true, name: undefined, groups: [] };

  const rawName = item.attrs['name'];
  // An empty name is the same as no name (§2.1.2.3 allows clients to clear it that way).
  const name = rawName === undefined || rawName === '' ? undefined : rawName;
  if (name !== undefined && [...name].length > limits.maxNameLength) {
    throw new StanzaError('not-acceptable', `The name is longer than ${limits.maxNameLength} characters`);
  }
  const groups: string[] = [];
  for (const g of item.getChildren('group')) {
    const text = g.text();
    if (text === '') throw new StanzaError('not-acceptable', 'A <group/> must not be empty');
    if ([...text].length > limits.maxNameLength) {
      throw new StanzaError('not-acceptable', `A group name is longer than ${limits.maxNameLength} characters`);
    }
    if (groups.includes(text)) throw new StanzaError('bad-request', `Duplicate group: ${text}`);
    groups.push(text);
  }
  if (groups.length > limits.maxGroups) throw new StanzaError('not-acceptable', `At most ${limits.maxGroups} groups per item`);
  return { jid, remove: false, name, groups };
}
