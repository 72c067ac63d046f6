// XEP-0227 §4: the roster as <query xmlns='jabber:iq:roster'/> with its items (subscription,
// ask, approved, name, groups), exported and imported. Pending inbound requests and the hidden
// entries that remember them have no syntax there: they stay behind.
import { JidError, parseJid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_ROSTER, itemElement } from './roster-xml.ts';
import type { RosterItem } from './roster-store.ts';
import type { Subscription } from './subscriptions.ts';
import type { Roster } from './roster-push.ts';

const SUBSCRIPTIONS = new Set<string>(['none', 'to', 'from', 'both']);

export interface RosterImportLimits {
  maxItems: number;
  maxNameLength: number;
  maxGroups: number;
}

export async function exportRoster(r: Roster, user: string, add: (e: Element) => void): Promise<void> {
  const items = [...(await r.store.visible(user))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (items.length === 0) return;
  add(el('query', { xmlns: NS_ROSTER }, ...items.map(([jid, item]) => itemElement(jid, { ...item, groups: [...item.groups].sort() }))));
}

/** The items of <query xmlns='jabber:iq:roster'/>, checked against the roster's limits. */
export function parseRosterItems(query: Element, limits: RosterImportLimits): Map<string, RosterItem> {
  const out = new Map<string, RosterItem>();
  for (const itemEl of query.getChildren('item')) {
    const raw = itemEl.attrs['jid'];
    if (!raw) throw new Error('roster: an <item/> has no jid');
    let jid: string;
    try {
      jid = parseJid(raw).bare().toString();
    } catch (e) {
      if (e instanceof JidError) throw new Error(`roster: ${raw} is not a valid JID: ${e.message}`, { cause: e });
      throw e;
    }
    const sub = itemEl.attrs['subscription'] ?? 'none';
    if (!SUBSCRIPTIONS.has(sub)) throw new Error(`roster: ${jid} has subscription "${sub}"`);
    const name = itemEl.attrs['name'] || undefined;
    if (name !== undefined && [...name].length > limits.maxNameLength) throw new Error(`roster: the name of ${jid} is longer than ${limits.maxNameLength} characters`);
    const groups = [...new Set(itemEl.getChildren('group').map((g) => g.text()).filter((g) => g !== ''))];
    if (groups.length > limits.maxGroups) throw new Error(`roster: ${jid} is in more than ${limits.maxGroups} groups`);
    for (const g of groups) if ([...g].length > limits.maxNameLength) throw new Error(`roster: a group of ${jid} is longer than ${limits.maxNameLength} characters`);
    const item: RosterItem = { groups, subscription: sub as Subscription };
    if (name !== undefined) item.name = name;
    if (itemEl.attrs['ask'] === 'subscribe') item.ask = 'subscribe';
    if (itemEl.attrs['approved'] === 'true' || itemEl.attrs['approved'] === '1') item.approved = true;
    out.set(jid, item);
  }
  if (out.size > limits.maxItems) throw new Error(`roster: ${out.size} contacts, more than roster.max_items (${limits.maxItems})`);
  return out;
}

export async function importRoster(r: Roster, user: string, elements: readonly Element[], limits: RosterImportLimits): Promise<void> {
  const query = elements.find((e) => e.name === 'query' && e.attrs['xmlns'] === NS_ROSTER);
  if (!query) return;
  const items = parseRosterItems(query, limits);
  items.delete(`${user}@${r.ctx.host}`);
  if (items.size === 0) return;
  await r.store.lock(user, () => r.store.replaceAll(user, items));
}
