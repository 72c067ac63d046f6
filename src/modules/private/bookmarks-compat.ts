// XEP-0402 §5.3 compatibility: XEP-0048 bookmarks in private storage (<storage
// xmlns='storage:bookmarks'/>) are the account's PEP bookmarks2 items, so an old client and a new
// one see the same rooms. Active when the pep module runs on the host.
import type { ModuleContext } from '../../core/modules.ts';
import type { MapStore } from '../../core/storage.ts';
import { StanzaError } from '../../core/errors.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../core/xml/xml-json.ts';
import type { PepService } from '../pep/api.ts';
import { NS_BOOKMARKS2, NS_LEGACY_BOOKMARKS, bookmarksToLegacy, legacyOthers, legacyToBookmarks, sameConference, type Bookmark } from './bookmarks-format.ts';

export const NS_BOOKMARKS_COMPAT = 'urn:xmpp:bookmarks:1#compat';

/** XEP-0402 §3's publish-options: every bookmark is private to the account and kept. */
const BOOKMARK_OPTIONS = { persistItems: true, maxItems: 'max', sendLastPublishedItem: 'never', accessModel: 'whitelist' } as const;

export interface BookmarksCompat {
  readonly namespace: string;
  /** The XEP-0048 <storage/> built from the bookmarks2 items (and the URLs kept aside). */
  get(user: string): Promise<Element>;
  /** A XEP-0048 set: the bookmarks2 items follow (changed ones published, missing ones retracted). */
  set(user: string, storage: Element): Promise<void>;
  /** Moves XEP-0048 conferences left in private storage (older data, an import) to PEP. */
  migrate(user: string): Promise<void>;
}

export function setupBookmarksCompat(ctx: ModuleContext<unknown>, store: MapStore<XmlJson[]>): BookmarksCompat | undefined {
  const pep = ctx.shared.get('pep');
  if (!pep) return undefined;
  // §5.3: the account says its bookmarks are the same through both protocols.
  ctx.disco.addAccountFeature(NS_BOOKMARKS_COMPAT);

  /**
   * The XEP-0048 entries kept in private storage: only what bookmarks2 has no place for (URLs).
   * Conferences found there (stored before the conversion was on, or imported) move to PEP first,
   * a room already bookmarked there keeping its PEP version.
   */
  const othersOf = async (user: string): Promise<Element[]> => {
    const stored = await store.get(user, NS_LEGACY_BOOKMARKS);
    if (!stored) return [];
    const storages = stored.map(elementFromJson);
    const conferences = storages.flatMap((storage) => legacyToBookmarks(storage));
    const others = storages.flatMap((storage) => legacyOthers(storage));
    if (conferences.length === 0) return others;
    const existing = new Set((await bookmarksOf(pep, user)).map((b) => b.jid));
    for (const { jid, conference } of conferences) {
      if (!existing.has(jid)) await pep.publish(user, NS_BOOKMARKS2, { id: jid, payload: conference }, BOOKMARK_OPTIONS);
    }
    await keepOthers(user, others);
    return others;
  };

  const keepOthers = async (user: string, others: Element[]) => {
    if (others.length > 0) await store.set(user, NS_LEGACY_BOOKMARKS, [elementToJson(el('storage', { xmlns: NS_LEGACY_BOOKMARKS }, ...others))]);
    else await store.delete(user, NS_LEGACY_BOOKMARKS);
  };

  return {
    namespace: NS_LEGACY_BOOKMARKS,
    async migrate(user) {
      await othersOf(user);
    },
    async get(user) {
      const others = await othersOf(user);
      return bookmarksToLegacy(await bookmarksOf(pep, user), others);
    },
    async set(user, storage) {
      const wanted = legacyToBookmarks(storage);
      const current = new Map((await bookmarksOf(pep, user)).map((b) => [b.jid, b.conference]));
      // §5.3.2: unchanged items are not published again (no needless notifications).
      for (const { jid, conference } of wanted) {
        const before = current.get(jid);
        if (!before || !sameConference(before, conference)) {
          await pep.publish(user, NS_BOOKMARKS2, { id: jid, payload: conference }, BOOKMARK_OPTIONS);
        }
      }
      const kept = new Set(wanted.map((b) => b.jid));
      for (const jid of current.keys()) if (!kept.has(jid)) await pep.retract(user, NS_BOOKMARKS2, jid);
      // The list replaces the old one whole: conferences left in private storage go too.
      await keepOthers(user, legacyOthers(storage));
    },
  };
}

async function bookmarksOf(pep: PepService, user: string): Promise<Bookmark[]> {
  try {
    const page = await pep.items(user, NS_BOOKMARKS2);
    // Items come newest first; the legacy list reads better oldest first.
    return page.items
      .map((item) => ({ jid: item.id, conference: item.payload }))
      .filter((b) => b.conference.name === 'conference' && b.conference.attrs['xmlns'] === NS_BOOKMARKS2)
      .reverse();
  } catch (err) {
    if (err instanceof StanzaError && err.condition === 'item-not-found') return [];
    throw err;
  }
}
