// XEP-0049 Private XML Storage (jabber:iq:private): clients keep XML on the server, by namespace,
// readable and writable by the account's own resources only.
import { KeyedLock } from '../../lib/keyed-lock.ts';
import { BoundedLru } from '../../lib/bounded-lru.ts';
import { Buffer } from 'node:buffer';
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { StanzaError, badRequest, forbidden } from '../../core/errors.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../core/xml/xml-json.ts';
import { setupBookmarksCompat } from './bookmarks-compat.ts';

export const NS_PRIVATE = 'jabber:iq:private';

/**
 * Namespaces that can't be stored: the stanza namespaces (a child without xmlns is in jabber:client)
 * and the protocol's own. XEP-0049 §2.3 allows refusing reserved namespaces with "Not Acceptable".
 */
/** Accounts remembered as checked for XEP-0048 bookmarks to move to PEP; beyond it the oldest is checked again at its next login. */
const MIGRATION_MEMORY = 10_000;
const RESERVED = new Set(['jabber:client', 'jabber:server', 'jabber:component:accept', NS_PRIVATE]);

/** A child's namespace: its own, else the inherited one of <query/> (RFC 6120 §4.8.3). */
function nsOf(child: Element): string {
  return child.attrs['xmlns'] ?? NS_PRIVATE;
}

function checkNs(ns: string): void {
  if (RESERVED.has(ns)) throw new StanzaError('not-acceptable', `The namespace ${ns} is reserved`);
}

/** Bytes a namespace's stored elements take, as JSON (what the store keeps). */
function sizeOf(value: XmlJson[]): number {
  return Buffer.byteLength(JSON.stringify(value));
}

export const privateStorage = defineModule({
  name: 'private',
  description: 'Lets clients keep settings and bookmarks as private XML on the server (XEP-0049), readable only by the account.',
  stores: {
    private: { kind: 'map', what: 'Private client data', detail: 'settings and bookmarks your client saves on the server (XEP-0049); only your own account can read them' },
  },
  enabledByDefault: true,
  xeps: [
    { number: 49, version: '1.2', note: 'with the pep module, storage:bookmarks (XEP-0048) is the account\'s XEP-0402 bookmarks (urn:xmpp:bookmarks:1#compat)' },
    { number: 48, version: '1.2', note: 'through private storage (XEP-0049), kept as XEP-0402 items with the pep module; URL bookmarks stay in private storage' },
  ],
  // XEP-0402 compatibility with PEP bookmarks when the pep module runs on the host.
  after: ['pep'],
  options: {
    max_size: option.size('256KiB', 'Largest total of private XML one account may store.', { min: 1024 }),
  },
  setup(ctx) {
    // One entry per namespace: §2.3 retrieves "by the namespace used for storage of that fragment",
    // and a set "MAY contain multiple elements qualified by the same namespace".
    const store = ctx.store.map<XmlJson[]>('private');
    const max = ctx.options.max_size;
    /** user -> tail of that user's queue of writes, so two sets can't both pass the size check. */
    const writes = new KeyedLock();
    const locked = <T>(user: string, fn: () => Promise<T>): Promise<T> => writes.run(user, fn);
    const bookmarks = setupBookmarksCompat(ctx, store);

    ctx.iq.get('account', NS_PRIVATE, 'query', async ({ payload, to, isSelf }) => {
      // §2.3: another user's data "MUST return a Forbidden ... error (... the former is preferable)".
      if (!isSelf) throw forbidden('Private XML belongs to its account only');
      const children = payload.elements;
      const wanted = children[0];
      // §2.3: a get without a child element is refused ("Not Acceptable" in existing implementations).
      if (!wanted) throw new StanzaError('not-acceptable', 'Name the namespace to retrieve with a child element');
      // §2.3: "A client MUST NOT query for more than namespace in a single IQ get request."
      if (children.length > 1) throw badRequest('Retrieve one namespace per request');
      const ns = nsOf(wanted);
      checkNs(ns);
      if (bookmarks && ns === bookmarks.namespace) return el('query', { xmlns: NS_PRIVATE }, await bookmarks.get(to.local));
      const stored = await store.get(to.local, ns);
      // Nothing stored: the empty element that was asked for, so clients see "no data", not an error.
      const content = stored ? stored.map(elementFromJson) : [el(wanted.name, { xmlns: ns })];
      return el('query', { xmlns: NS_PRIVATE }, ...content);
    });

    ctx.iq.set('account', NS_PRIVATE, 'query', async ({ payload, to, isSelf }) => {
      if (!isSelf) throw forbidden('Private XML belongs to its account only');
      const children = payload.elements;
      // §2.3: "At least one child element with a proper namespace MUST be included".
      if (children.length === 0) throw new StanzaError('not-acceptable', 'Nothing to store');
      const byNs = new Map<string, XmlJson[]>();
      for (const child of children) {
        const ns = nsOf(child);
        checkNs(ns);
        const list = byNs.get(ns) ?? [];
        list.push(elementToJson(child));
        byNs.set(ns, list);
      }
      // XEP-0048 bookmarks go to PEP (one <storage/>: the last one sent, as a replacement list).
      const legacy = bookmarks ? payload.getChildren('storage', bookmarks.namespace).at(-1) : undefined;
      if (bookmarks && legacy) byNs.delete(bookmarks.namespace);
      await locked(to.local, async () => {
        let total = 0;
        for (const [ns, value] of await store.getAll(to.local)) if (!byNs.has(ns)) total += sizeOf(value);
        for (const value of byNs.values()) total += sizeOf(value);
        if (total > max) throw new StanzaError('not-acceptable', `Private storage is limited to ${max} bytes per account`);
        // Each namespace named in the set is replaced whole, as the XEP's clients expect.
        for (const [ns, value] of byNs) await store.set(to.local, ns, value);
        if (bookmarks && legacy) await bookmarks.set(to.local, legacy);
      });
      return undefined;
    });

    // XEP-0227: <query xmlns='jabber:iq:private'/> with every stored fragment, by namespace.
    ctx.hooks.on('user/export', async ({ user, add }) => {
      const all = [...(await store.getAll(user))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (all.length > 0) add(el('query', { xmlns: NS_PRIVATE }, ...all.flatMap(([, value]) => value.map(elementFromJson))));
    });
    ctx.hooks.on('user/import', async ({ user, elements }) => {
      const query = elements.find((e) => e.name === 'query' && e.attrs['xmlns'] === NS_PRIVATE);
      if (!query) return;
      const byNs = new Map<string, XmlJson[]>();
      for (const child of query.elements) {
        const ns = nsOf(child);
        // The stanza namespaces are refused here too; such a fragment is left behind, not fatal.
        if (RESERVED.has(ns)) continue;
        byNs.set(ns, [...(byNs.get(ns) ?? []), elementToJson(child)]);
      }
      let total = 0;
      for (const value of byNs.values()) total += sizeOf(value);
      if (total > max) throw new Error(`private XML: ${total} bytes, more than private.max_size (${max})`);
      await locked(user, async () => {
        for (const [ns, value] of byNs) await store.set(user, ns, value);
      });
      // The PEP part of the document is in (pep is loaded first): imported XEP-0048 rooms join it.
      await bookmarks?.migrate(user);
    });

    // Bookmarks stored before the conversion was on reach bookmarks2 clients at the next login.
    if (bookmarks) {
      // Once per account since start: later bookmarks go through the conversion as they are set.
      const checked = new BoundedLru<string, true>(MIGRATION_MEMORY);
      ctx.hooks.on('user/deleted', ({ user }) => checked.delete(user));
      ctx.hooks.on('session/bound', ({ session }) => {
        const user = session.jid.local;
        if (checked.get(user)) return;
        checked.set(user, true);
        void locked(user, () => bookmarks.migrate(user)).catch((err: unknown) => {
          checked.delete(user);
          ctx.log.warn({ err }, 'XEP-0048 bookmarks not moved to PEP');
        });
      });
    }
  },
});
