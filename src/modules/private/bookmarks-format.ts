// XEP-0048 bookmarks (<storage xmlns='storage:bookmarks'/>) and XEP-0402 bookmarks2 items
// (one <conference xmlns='urn:xmpp:bookmarks:1'/> per room, item id = room JID), converted both
// ways as XEP-0402's compatibility section asks. Pure functions, no I/O.
import { tryParseJid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';

export const NS_LEGACY_BOOKMARKS = 'storage:bookmarks';
export const NS_BOOKMARKS2 = 'urn:xmpp:bookmarks:1';

export interface Bookmark {
  /** The room's bare JID: the bookmarks2 item id. */
  jid: string;
  conference: Element;
}

const isTrue = (v: string | undefined) => v === 'true' || v === '1';

/** The XEP-0048 conferences as bookmarks2 payloads; entries without a valid room JID are left out. */
export function legacyToBookmarks(storage: Element): Bookmark[] {
  const out = new Map<string, Bookmark>();
  for (const c of storage.getChildren('conference')) {
    const jid = tryParseJid(c.attrs['jid']);
    if (!jid || !jid.local || jid.resource) continue;
    const nick = c.getChildText('nick');
    const password = c.getChildText('password');
    // Anything else a client put in the conference is kept as a XEP-0402 extension.
    const extra = c.elements.filter((e) => e.name !== 'nick' && e.name !== 'password');
    const conference = el(
      'conference',
      { xmlns: NS_BOOKMARKS2, name: c.attrs['name'] || undefined, autojoin: isTrue(c.attrs['autojoin']) ? 'true' : undefined },
      nick ? el('nick', {}, nick) : null,
      password ? el('password', {}, password) : null,
      extra.length > 0 ? el('extensions', {}, ...extra.map((e) => e.clone())) : null,
    );
    out.set(jid.toString(), { jid: jid.toString(), conference });
  }
  return [...out.values()];
}

/** The XEP-0048 <storage/> for bookmarks2 items, plus the legacy entries bookmarks2 has no room for (URLs). */
export function bookmarksToLegacy(bookmarks: readonly Bookmark[], others: readonly Element[]): Element {
  const storage = el('storage', { xmlns: NS_LEGACY_BOOKMARKS });
  for (const { jid, conference } of bookmarks) {
    const nick = conference.getChildText('nick');
    const password = conference.getChildText('password');
    const extensions = conference.getChild('extensions')?.elements ?? [];
    storage.append(
      el(
        'conference',
        { jid, name: conference.attrs['name'] || undefined, autojoin: isTrue(conference.attrs['autojoin']) ? 'true' : 'false' },
        nick ? el('nick', {}, nick) : null,
        password ? el('password', {}, password) : null,
        ...extensions.map((e) => e.clone()),
      ),
    );
  }
  return storage.append(...others.map((e) => e.clone()));
}

/** The legacy entries that are not conferences (XEP-0048 <url/>): kept in private storage as before. */
export function legacyOthers(storage: Element): Element[] {
  return storage.elements.filter((e) => e.name !== 'conference');
}

/** Same bookmark content, so an unchanged one is not published again. */
export function sameConference(a: Element, b: Element): boolean {
  return a.toString() === b.toString();
}
