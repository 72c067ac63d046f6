// XEP-0313 Message Archive Management for user archives (with the #extended features and XEP-0441
// preferences), opt-in per host: while this module is off, no message is kept after delivery. The
// archive is sealed at rest like every store, capped per account, purged after max_age by the
// retention engine, erased with the account and part of its XEP-0227 export.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { elementToJson } from '../../core/xml/xml-json.ts';
import type { IqRequest } from '../../core/modules.ts';
import { ARCHIVE_RETENTION } from '../../policy/facts.ts';
import '../roster/api.ts';
import { isArchivable } from './archivable.ts';
import { UserArchives, type ArchivedMessage } from './archive-store.ts';
import { DEFAULT_PREFS, NS_MAM, parsePrefs, prefsAllow, prefsElement, type MamPrefs } from './prefs.ts';
import { parseQuery, queryForm } from './query.ts';
import { selectPage } from './paging.ts';
import { finElement, metadataElement, resultMessage } from './results.ts';
import { NS_SID, stanzaIdElement, stanzaIdsBy, stripStanzaIdsBy } from './stanza-id.ts';
import { exportArchive, readArchive } from './portable.ts';

export const NS_MAM_EXTENDED = 'urn:xmpp:mam:2#extended';

export const mam = defineModule({
  name: 'mam',
  description: 'An opt-in message archive (XEP-0313 with #extended, XEP-0441 preferences): one-to-one messages kept sealed for max_age, so clients can fetch the chat history; stanza-ids (XEP-0359) on delivered messages.',
  stores: {
    mam: {
      kind: 'archive',
      what: 'Message archive',
      detail: 'the one-to-one messages you send and receive (the whole message as sent, with the other party\'s address and the time), so that your clients can fetch your chat history; kept for the time stated below, the oldest dropped first past the per-account limit, and never for the addresses your archiving preferences exclude',
      chatHistory: true,
    },
    'mam-prefs': {
      kind: 'keyval',
      what: 'Archiving preferences',
      detail: 'whether your messages are archived always, never or only with your contacts, and the addresses you list as always or never archived',
    },
  },
  enabledByDefault: false,
  after: ['roster', 'carbons'],
  xeps: [
    { number: 313, version: '1.1.3', status: 'partial', note: 'User archives only: MUC rooms keep no archive (their history is in memory only), so no include-groupchat field. A <max/> above max_page_size gets max_page_size results and an incomplete <fin/> (§4.3.1).' },
    { number: 441, version: '0.2.0' },
    { number: 359, version: '0.7.0', status: 'partial', note: '<stanza-id/> on archived messages (XEP-0313 §3.5); <origin-id/> is the client\'s and passes through.' },
    { number: 59, version: '1.0', status: 'partial', note: 'In MAM queries: <max/>, <after/>, <before/> (empty for the last page), <first/>, <last/>, <count/> (no index attribute, which is optional); <index/> in a request gets <feature-not-implemented/> (§2.6).' },
  ],
  options: {
    max_age: option.period('7d', 'Archived messages older than this are deleted by the retention engine (and the privacy policy says so).', { min: 1000, max: 3650 * 86_400_000 }),
    max_messages: option.integer(10_000, 'Messages kept per account; past this the oldest are dropped as new ones arrive (XEP-0313 §3.2: never a gap in the middle).', { min: 1, max: 1_000_000 }),
    default_pref: option.enum(DEFAULT_PREFS, 'roster', "What is archived for an account that set no XEP-0441 preferences: 'roster' (messages with contacts in the roster, not strangers), 'always' or 'never'."),
    max_pref_jids: option.integer(1000, 'Most addresses in one account\'s <always/> and <never/> lists together.', { min: 0, max: 100_000 }),
    page_size: option.integer(50, 'Results per page when a query gives no RSM <max/>.', { min: 1, max: 10_000 }),
    max_page_size: option.integer(250, 'Most results sent for one query page, whatever <max/> asks.', { min: 1, max: 10_000 }),
  },
  setup(ctx) {
    const o = ctx.options;
    const archives = new UserArchives(ctx.store.archive<ArchivedMessage>('mam'), o.max_messages);
    const prefsStore = ctx.store.keyval<MamPrefs>('mam-prefs');
    const limits = { pageSize: Math.min(o.page_size, o.max_page_size), maxPageSize: o.max_page_size };

    // §7: the features of the archive, advertised on the accounts' bare JIDs.
    ctx.disco.addAccountFeature(NS_MAM);
    ctx.disco.addAccountFeature(NS_MAM_EXTENDED);
    ctx.disco.addAccountFeature(NS_SID);

    const prefsOf = async (user: string): Promise<MamPrefs> => (await prefsStore.get(user)) ?? { default: o.default_pref, always: [], never: [] };
    // Notes to self count as with a contact: the account is always in its own conversation.
    const wanted = async (user: string, contact: Jid): Promise<boolean> =>
      prefsAllow(await prefsOf(user), contact, async () =>
        contact.bareString === `${user}@${ctx.host}` || ((await ctx.shared.get('roster')?.inRoster(user, contact.bareString)) ?? false));

    /** Archives a copy as the server routes it; the UID, or undefined when storage failed (delivery goes on). */
    const store = async (user: string, dir: 'in' | 'out', other: Jid, stanza: Element, from: Jid, to: Jid): Promise<string | undefined> => {
      const copy = stanza.clone();
      copy.attrs['from'] = from.toString();
      copy.attrs['to'] ??= to.toString();
      try {
        return await archives.append(user, { dir, with: other.toString(), message: elementToJson(copy) });
      } catch (err) {
        ctx.log.warn({ err }, 'message not archived: storage failed');
        return undefined;
      }
    };

    // Sent messages, after the outbound filters (blocking is 'first'): into the sender's archive.
    // The stanza-id rides on the stanza only while carbons copies it for the sender's other
    // clients (§3.5: "SHOULD include the element as a child of the forwarded message"); the
    // contact never sees it (§3.5: "MUST NOT include the <stanza-id/> element in messages
    // addressed to JIDs that do not have permissions to access the archive").
    const forCarbonsOnly = new WeakMap<Element, Element>();
    ctx.hooks.on('stanza/outbound', async ({ stanza, from, to, origin }) => {
      if (!origin || stanza.name !== 'message') return false;
      const owner = from.bareString;
      stripStanzaIdsBy(stanza, owner);
      if (!isArchivable(stanza) || !(await wanted(from.local, to))) return false;
      const uid = await store(from.local, 'out', to, stanza, from, to);
      if (uid === undefined) return false;
      const sid = stanzaIdElement(owner, uid);
      stanza.append(sid);
      // A message to the account itself stays stamped: its recipient is the archive's owner.
      if (to.bareString !== owner) forCarbonsOnly.set(stanza, sid);
      return false;
    }, 'late');
    // Registered after the carbons module's 'last' handler (this module loads after it).
    ctx.hooks.on('stanza/outbound', ({ stanza }) => {
      const sid = forCarbonsOnly.get(stanza);
      if (sid) {
        forCarbonsOnly.delete(stanza);
        stanza.children = stanza.children.filter((c) => c !== sid);
      }
      return false;
    }, 'last');

    // Received messages, after the inbound filters (a blocked sender's message is not archived):
    // into the recipient's archive, stamped with the stanza-id on the way to its clients.
    ctx.hooks.on('stanza/inbound', async ({ stanza, from, to, origin }) => {
      if (stanza.name !== 'message' || to.local === '') return false;
      const owner = to.bareString;
      // The account's own messages to itself were archived once, when sent.
      if (origin && from.bareString === owner) return false;
      const claimed = stanzaIdsBy(stanza, owner).map((s) => s.attrs['id'] ?? '');
      if (claimed.length > 0) {
        // An archived message coming back (offline delivery): it keeps its stanza-id. Anything
        // else claiming this archive's ids is forged (XEP-0359) and loses them.
        if (await archives.holds(to.local, claimed)) return false;
        stripStanzaIdsBy(stanza, owner);
      }
      if (!isArchivable(stanza) || !(await wanted(to.local, from))) return false;
      // RFC 6121 §8.5.3.2.1: a normal message to a resource that is gone bounces; it is not kept.
      if (to.resource !== '' && (stanza.attrs['type'] ?? 'normal') === 'normal' && !ctx.sessions.get(to.toString())) return false;
      const uid = await store(to.local, 'in', from, stanza, from, to);
      if (uid !== undefined) stanza.append(stanzaIdElement(owner, uid));
      return false;
    }, 'last');

    /** §8.1: only the account itself reads its archive. */
    const own = (req: IqRequest): string => {
      if (!req.isSelf || !req.origin) throw new StanzaError('forbidden', 'Only the account itself can use its archive');
      return req.to.local;
    };

    // §4.1.5: the query form.
    ctx.iq.get('account', NS_MAM, 'query', (req) => {
      own(req);
      return el('query', { xmlns: NS_MAM }, queryForm());
    });

    // §4: a query: the results as messages to the querying resource, then the IQ result.
    ctx.iq.set('account', NS_MAM, 'query', async (req) => {
      const user = own(req);
      // §6.1.3 (XEP-0442): 'node' is for pubsub archives, which accounts are not.
      if (req.payload.attrs['node'] !== undefined) throw new StanzaError('item-not-found', 'This archive has no nodes');
      const q = parseQuery(req.payload, limits);
      const all = await archives.items(user);
      const page = selectPage(all, q);
      const queryId = req.payload.attrs['queryid'];
      const items = q.flip ? [...page.items].reverse() : page.items;
      const archive = req.to.bareString;
      const session = req.origin;
      if (!session) throw new StanzaError('forbidden');
      for (const item of items) {
        if (!(await ctx.deliver(resultMessage(archive, session.jid.toString(), queryId, item), session))) {
          throw new StanzaError('resource-constraint', 'The results could not all be sent; query again', 'wait');
        }
      }
      return finElement(page);
    });

    // §5 (#extended): the first and last entries.
    ctx.iq.get('account', NS_MAM, 'metadata', async (req) => metadataElement(await archives.items(own(req))));

    // XEP-0441: the preferences.
    ctx.iq.get('account', NS_MAM, 'prefs', async (req) => prefsElement(await prefsOf(own(req))));
    ctx.iq.set('account', NS_MAM, 'prefs', async (req) => {
      const user = own(req);
      const prefs = parsePrefs(req.payload, o.max_pref_jids);
      await prefsStore.set(user, prefs);
      return prefsElement(prefs);
    });

    // The privacy promise: nothing archived outlives max_age (stated on /privacy with this name).
    ctx.retention(ARCHIVE_RETENTION, o.max_age, (cutoff) => archives.purgeOlderThan(cutoff));

    ctx.hooks.on('user/export', async ({ user, add }) => exportArchive(archives, await prefsStore.get(user), user, add));
    ctx.hooks.on('user/import', async ({ user, elements }) => {
      const read = readArchive(elements, ctx.host, user, { maxAge: o.max_age, maxPrefJids: o.max_pref_jids });
      if (!read) return;
      await archives.replace(user, read.entries);
      if (read.prefs) await prefsStore.set(user, read.prefs);
    });
    // Account deletion erases every store of the account, this archive and its preferences included.
    ctx.hooks.on('user/deleted', ({ user }) => archives.forget(user));
  },
});
