// The mam module's rules without a server: what is archived, how queries are read, which page a
// query gets, what preferences decide, and the XEP-0227 round trip of an archive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el, type Element } from '../../core/xml/element.ts';
import { parseJid } from '../../core/jid.ts';
import { StanzaError } from '../../core/errors.ts';
import { testStorage } from '../../storage/test-storage.ts';
import { isArchivable } from './archivable.ts';
import { parseQuery, type MamQuery } from './query.ts';
import { selectPage } from './paging.ts';
import { parsePrefs, prefsAllow, type MamPrefs } from './prefs.ts';
import { UserArchives, type ArchiveItem, type ArchivedMessage } from './archive-store.ts';
import { exportArchive, readArchive } from './portable.ts';
import { elementToJson } from '../../core/xml/xml-json.ts';

const LIMITS = { pageSize: 50, maxPageSize: 250 };
const msg = (attrs: Record<string, string>, ...children: Element[]): Element => el('message', attrs, ...children);
const body = (t: string): Element => el('body', {}, t);

function condition(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof StanzaError) return e.condition;
    throw e;
  }
  return 'none';
}

describe('archivable (XEP-0313 §6.1.1, XEP-0334)', () => {
  it('keeps chat and normal messages with content, nothing else', () => {
    assert.ok(isArchivable(msg({ type: 'chat' }, body('hi'))));
    assert.ok(isArchivable(msg({}, body('normal without a type'))));
    assert.ok(isArchivable(msg({ type: 'chat' }, el('encrypted', { xmlns: 'urn:xmpp:omemo:2' }))));
    assert.ok(isArchivable(msg({ type: 'chat' }, el('store', { xmlns: 'urn:xmpp:hints' }))));
    assert.ok(!isArchivable(msg({ type: 'groupchat' }, body('room'))));
    assert.ok(!isArchivable(msg({ type: 'error' }, body('err'))));
    assert.ok(!isArchivable(msg({ type: 'headline' }, body('news'))));
    assert.ok(!isArchivable(msg({ type: 'chat' }, el('active', { xmlns: 'http://jabber.org/protocol/chatstates' }))));
    assert.ok(!isArchivable(msg({ type: 'chat' }, body('x'), el('no-store', { xmlns: 'urn:xmpp:hints' }))));
    assert.ok(!isArchivable(msg({ type: 'chat' }, body('x'), el('no-permanent-store', { xmlns: 'urn:xmpp:hints' }))));
    assert.ok(!isArchivable(msg({ type: 'chat' }, el('received', { xmlns: 'urn:xmpp:carbons:2' }, el('forwarded', {}, msg({}, body('x')))))));
    assert.ok(!isArchivable(el('presence', {}, body('x'))));
  });
});

describe('query parsing (XEP-0313 §4, XEP-0059)', () => {
  const form = (fields: Record<string, string | string[]>, type = 'submit', formType = 'urn:xmpp:mam:2'): Element =>
    el('x', { xmlns: 'jabber:x:data', type },
      el('field', { var: 'FORM_TYPE', type: 'hidden' }, el('value', {}, formType)),
      ...Object.entries(fields).map(([k, v]) => el('field', { var: k }, ...(Array.isArray(v) ? v : [v]).map((x) => el('value', {}, x)))));
  const q = (...children: Element[]): Element => el('query', { xmlns: 'urn:xmpp:mam:2' }, ...children);
  const rsm = (...children: Element[]): Element => el('set', { xmlns: 'http://jabber.org/protocol/rsm' }, ...children);

  it('reads the fields, RSM and flip-page', () => {
    const parsed = parseQuery(q(form({ with: 'a@b/c', start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00.5+01:00', 'before-id': 'x', 'after-id': 'y', ids: ['1', '2'] }),
      rsm(el('max', {}, '10'), el('before')), el('flip-page')), LIMITS);
    assert.equal(parsed.with?.toString(), 'a@b/c');
    assert.equal(parsed.start, Date.parse('2026-01-01T00:00:00Z'));
    assert.equal(parsed.end, Date.parse('2026-01-01T23:00:00.5Z'));
    assert.deepEqual([parsed.beforeId, parsed.afterId, parsed.ids, parsed.max, parsed.before, parsed.flip], ['x', 'y', ['1', '2'], 10, '', true]);
    assert.equal(parseQuery(q(), LIMITS).max, 50, 'the default page');
    assert.equal(parseQuery(q(rsm(el('max', {}, '100000'))), LIMITS).max, 250, 'capped at max_page_size');
  });

  it('refuses what the XEPs refuse, with their conditions', () => {
    assert.equal(condition(() => parseQuery(q(form({ start: '2026-01-01' })), LIMITS)), 'bad-request');
    assert.equal(condition(() => parseQuery(q(form({ with: '@@' })), LIMITS)), 'bad-request');
    assert.equal(condition(() => parseQuery(q(form({}, 'form')), LIMITS)), 'bad-request');
    assert.equal(condition(() => parseQuery(q(form({}, 'submit', 'urn:xmpp:mam:1')), LIMITS)), 'bad-request');
    assert.equal(condition(() => parseQuery(q(form({ 'full-text-search': 'x' })), LIMITS)), 'feature-not-implemented');
    assert.equal(condition(() => parseQuery(q(rsm(el('max', {}, '-1'))), LIMITS)), 'bad-request');
    assert.equal(condition(() => parseQuery(q(rsm(el('index', {}, '2'))), LIMITS)), 'feature-not-implemented');
    assert.equal(condition(() => parseQuery(q(rsm(el('after'))), LIMITS)), 'bad-request');
    assert.equal(condition(() => parseQuery(q(form({ ids: Array.from({ length: 251 }, (_, i) => String(i)) })), LIMITS)), 'policy-violation');
  });
});

describe('paging (XEP-0313 §4.1, §4.3; XEP-0059)', () => {
  const items: ArchiveItem[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((uid, i) => ({
    uid, when: new Date(Date.UTC(2026, 0, 1, 0, i)), dir: 'in', with: i % 2 === 0 ? 'x@h/r1' : 'y@h/r2', message: el('message'),
  }));
  const page = (q: Partial<MamQuery>) => selectPage(items, { max: 50, flip: false, ...q });
  const uids = (q: Partial<MamQuery>) => page(q).items.map((i) => i.uid);

  it('filters by with (bare, full), dates (inclusive) and ids', () => {
    assert.deepEqual(uids({ with: parseJid('x@h') }), ['a', 'c', 'e']);
    assert.deepEqual(uids({ with: parseJid('y@h/r2') }), ['b', 'd', 'f']);
    assert.deepEqual(uids({ with: parseJid('y@h/other') }), []);
    assert.deepEqual(uids({ start: Date.UTC(2026, 0, 1, 0, 2), end: Date.UTC(2026, 0, 1, 0, 4) }), ['c', 'd', 'e']);
    assert.deepEqual(uids({ afterId: 'b', beforeId: 'e' }), ['c', 'd']);
    assert.deepEqual(uids({ ids: ['f', 'a'] }), ['a', 'f']);
  });

  it('pages forwards and backwards, complete only at the end of the paging direction', () => {
    assert.deepEqual([uids({ max: 2 }), page({ max: 2 }).complete, page({ max: 2 }).count], [['a', 'b'], false, 6]);
    assert.deepEqual([uids({ max: 2, after: 'd' }), page({ max: 2, after: 'd' }).complete], [['e', 'f'], true]);
    assert.deepEqual([uids({ max: 2, before: '' }), page({ max: 2, before: '' }).complete], [['e', 'f'], false]);
    assert.deepEqual([uids({ max: 2, before: 'c' }), page({ max: 2, before: 'c' }).complete], [['a', 'b'], true]);
    assert.deepEqual(uids({ max: 2, before: 'e', with: parseJid('x@h') }), ['a', 'c']);
    assert.deepEqual([uids({ max: 0 }), page({ max: 0 }).count], [[], 6]);
  });

  it('answers item-not-found for an id the archive does not hold', () => {
    for (const q of [{ after: 'zz' }, { before: 'zz' }, { afterId: 'zz' }, { beforeId: 'zz' }, { ids: ['a', 'zz'] }]) {
      assert.equal(condition(() => page(q)), 'item-not-found', JSON.stringify(q));
    }
  });
});

describe('preferences (XEP-0441)', () => {
  const prefs = (def: string, always: string[] = [], never: string[] = []): Element =>
    el('prefs', { xmlns: 'urn:xmpp:mam:2', default: def }, el('always', {}, ...always.map((j) => el('jid', {}, j))), el('never', {}, ...never.map((j) => el('jid', {}, j))));

  it('parses and bounds them', () => {
    assert.deepEqual(parsePrefs(prefs('roster', ['a@h'], ['b@h/r']), 10), { default: 'roster', always: ['a@h'], never: ['b@h/r'] });
    assert.equal(condition(() => parsePrefs(prefs('sometimes'), 10)), 'bad-request');
    assert.equal(condition(() => parsePrefs(prefs('always', ['not@a@jid']), 10)), 'jid-malformed');
    assert.equal(condition(() => parsePrefs(prefs('always', ['a@h', 'b@h'], ['c@h']), 2)), 'not-acceptable');
  });

  it('decides: never wins, then always, then the default (roster asks the roster)', async () => {
    const p: MamPrefs = { default: 'roster', always: ['a@h', 'both@h'], never: ['n@h', 'both@h', 'r@h/one'] };
    const inRoster = async () => true;
    const notInRoster = async () => false;
    assert.equal(await prefsAllow(p, parseJid('both@h/x'), inRoster), false);
    assert.equal(await prefsAllow(p, parseJid('a@h/x'), notInRoster), true);
    assert.equal(await prefsAllow(p, parseJid('r@h/one'), inRoster), false);
    assert.equal(await prefsAllow(p, parseJid('r@h/two'), inRoster), true);
    assert.equal(await prefsAllow(p, parseJid('s@h'), notInRoster), false);
    assert.equal(await prefsAllow({ default: 'never', always: [], never: [] }, parseJid('s@h'), inRoster), false);
    assert.equal(await prefsAllow({ default: 'always', always: [], never: [] }, parseJid('s@h'), notInRoster), true);
  });
});

describe('archive store and XEP-0227 round trip', () => {
  it('caps each account, oldest first, and exports what an import reads back', async () => {
    const storage = testStorage();
    await storage.open();
    const archives = new UserArchives(storage.archive<ArchivedMessage>('h', 'mam'), 3);
    for (let i = 1; i <= 5; i++) {
      const out = i % 2 === 0;
      const message = msg({ from: out ? 'me@h/r' : 'you@h/r', to: out ? 'you@h' : 'me@h', type: 'chat' }, body(`m${i}`));
      await archives.append('me', { dir: out ? 'out' : 'in', with: out ? 'you@h' : 'you@h/r', message: elementToJson(message) }, new Date(Date.UTC(2026, 0, 1, 0, i)));
    }
    const kept = await archives.items('me');
    assert.deepEqual(kept.map((i) => i.message.getChildText('body')), ['m3', 'm4', 'm5']);
    assert.ok(await archives.holds('me', [kept[0]?.uid as string]));
    assert.ok(!(await archives.holds('me', ['forged'])));

    const parts: Element[] = [];
    await exportArchive(archives, { default: 'always', always: [], never: ['spam@h'] }, 'me', (e) => parts.push(e));
    assert.equal(parts.length, 1);
    const read = readArchive(parts, 'h', 'me', { maxAge: 3650 * 86_400_000, maxPrefJids: 10 });
    assert.ok(read);
    assert.deepEqual(read.prefs, { default: 'always', always: [], never: ['spam@h'] });
    assert.deepEqual(read.entries.map((e) => [e.value.uid, e.value.dir, e.value.with, e.when.getTime()]), kept.map((i) => [i.uid, i.dir, i.with, i.when.getTime()]));

    const other = new UserArchives(storage.archive<ArchivedMessage>('h2', 'mam'), 2);
    await other.replace('me', read.entries);
    assert.deepEqual((await other.items('me')).map((i) => i.message.getChildText('body')), ['m4', 'm5'], 'an import keeps the newest max_messages');
    // Past max_age on the importing side: not imported.
    assert.equal(readArchive(parts, 'h', 'me', { maxAge: 1000, maxPrefJids: 10 })?.entries.length, 0);
    await storage.close();
  });
});
