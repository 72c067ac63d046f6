// XEP-0313 Message Archive Management end to end: a real server with the mam module on one host
// (and off on another), Conversations/Gajim-style raw stanzas over @xmpp/client, and slixmpp's
// stock xep_0313/xep_0441 plugins; the archive checked through queries, the store API and the
// XEP-0227 export, across a restart and an account deletion.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import { withStorage } from '../harness/store.ts';
import { until } from '../harness/eventually.ts';
import { connectSlix, slixmppUnavailable } from '../harness/slixmpp.ts';
import { addContact, chat, createAccounts, errorOf, NS_MAM, NS_SID, query } from './mam-client.ts';

const OTHER = 'plain.localhost';
const NS_CARBONS = 'urn:xmpp:carbons:2';

const stanzaIdBy = (m: Element, by: string): string | undefined =>
  (m.getChildren('stanza-id', NS_SID) as Element[]).find((s) => s.attrs['by'] === by)?.attrs['id'];

describe('XEP-0313 message archive (mam module)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      hosts: ['localhost', OTHER],
      modules: { mam: {} },
      config: { hosts: { [OTHER]: { modules: { mam: false } } } },
    });
    await createAccounts(server, [
      'disco1', `disco2@${OTHER}`, 'alice', 'bob', 'carol', 'dave', 'stranger', 'erin', 'frank', 'gina', 'hank', 'ida',
      'oli', 'pia', 'jack', 'kate', 'lou', 'mia', 'ned',
    ]);
  });
  after(() => server.remove());

  /** Two accounts with each other in their rosters (the default preference archives contacts). */
  async function pair(t: Parameters<TestServer['connectClient']>[0], a: string, b: string): Promise<[TestClient, TestClient]> {
    const ca = await server.connectClient(t, a);
    const cb = await server.connectClient(t, b);
    await addContact(ca, `${b}@localhost`);
    await addContact(cb, `${a}@localhost`);
    await ca.send(xml('presence'));
    await cb.send(xml('presence'));
    // Both are available before anyone writes (the ping answers after the presence is handled).
    await ca.ping();
    await cb.ping();
    return [ca, cb];
  }

  it('§7: advertises mam:2, #extended and sid:0 on the bare JID where enabled; elsewhere queries get service-unavailable', async (t) => {
    const c = await server.connectClient(t, 'disco1');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), 'disco1@localhost');
    const features = info.getChildren('feature').map((f: Element) => f.attrs['var']);
    for (const f of [NS_MAM, `${NS_MAM}#extended`, NS_SID]) assert.ok(features.includes(f), f);
    const other = await server.connectClient(t, `disco2@${OTHER}`);
    const otherInfo = await other.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), `disco2@${OTHER}`);
    assert.ok(!otherInfo.getChildren('feature').some((f: Element) => String(f.attrs['var']).startsWith(NS_MAM)));
    assert.equal(await errorOf(query(other)), 'service-unavailable');
    // §4.1.5: the form lists every field, 'ids' open to any value.
    const formQuery = await c.iqGet(xml('query', { xmlns: NS_MAM }));
    const vars = formQuery.getChild('x', 'jabber:x:data')?.getChildren('field').map((f: Element) => f.attrs['var']);
    assert.deepEqual(vars, ['FORM_TYPE', 'with', 'start', 'end', 'before-id', 'after-id', 'ids']);
    assert.ok(formQuery.getChild('x')?.getChildren('field').find((f: Element) => f.attrs['var'] === 'ids')?.getChild('validate')?.getChild('open'));
  });

  it('§3.5: stamps delivered messages and sent carbons with the stanza-id of each archive, never the contact\'s copy with the sender\'s', async (t) => {
    const [alice, bob] = await pair(t, 'alice', 'bob');
    const alicePhone = await server.connectClient(t, 'alice', { resource: 'phone' });
    await alicePhone.iqSet(xml('enable', { xmlns: NS_CARBONS }));
    await alice.send(chat('bob@localhost', 'hello bob'));
    const got = await bob.waitFor((e) => e.is('message') && e.getChildText('body') === 'hello bob');
    const bobId = stanzaIdBy(got, 'bob@localhost');
    assert.ok(bobId, 'the recipient gets the id in its archive');
    assert.equal(stanzaIdBy(got, 'alice@localhost'), undefined, "the sender's archive id never reaches the contact");
    const carbon = await alicePhone.waitFor((e) => e.is('message') && e.getChild('sent', NS_CARBONS) !== undefined);
    const sentCopy = carbon.getChild('sent')?.getChild('forwarded')?.getChild('message') as Element;
    const aliceId = stanzaIdBy(sentCopy, 'alice@localhost');
    assert.ok(aliceId, 'the sent carbon carries the id in the sender\'s archive');
    // The ids are the archives' UIDs (single-item retrieval, #extended 'ids').
    const inBob = await query(bob, { fields: { ids: bobId } });
    assert.deepEqual(inBob.results.map((r) => [r.body, r.from, r.id]), [['hello bob', `${alice.jid.toString()}`, bobId]]);
    assert.ok(inBob.complete);
    const inAlice = await query(alicePhone, { fields: { ids: aliceId } });
    assert.deepEqual(inAlice.results.map((r) => [r.body, r.to]), [['hello bob', 'bob@localhost']]);
    // A note to self: archived once (as sent), delivered with its id.
    await alice.send(chat('alice@localhost', 'note to self'));
    const note = await alice.waitFor((e) => e.is('message') && e.getChildText('body') === 'note to self');
    const noteId = stanzaIdBy(note, 'alice@localhost');
    assert.ok(noteId);
    assert.deepEqual((await query(alice, { fields: { with: 'alice@localhost' } })).results.map((r) => [r.id, r.body]), [[noteId, 'note to self']]);
    // XEP-0359: a stanza-id claiming the recipient's archive, sent by someone else, is removed.
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'forged id'), xml('stanza-id', { xmlns: NS_SID, by: 'bob@localhost', id: 'forged' })));
    const forged = await bob.waitFor((e) => e.is('message') && e.getChildText('body') === 'forged id');
    assert.equal(forged.getChildren('stanza-id', NS_SID).length, 1);
    assert.notEqual(stanzaIdBy(forged, 'bob@localhost'), 'forged');
  });

  it('offline delivery: the stored message arrives with its stanza-id and is archived once', async (t) => {
    const [oli, pia] = await pair(t, 'oli', 'pia');
    await pia.close();
    await oli.send(chat('pia@localhost', 'while you were away'));
    await oli.ping();
    const back = await server.connectClient(t, 'pia', { resource: 'back' });
    await back.send(xml('presence'));
    const got = await back.waitFor((e) => e.is('message') && e.getChildText('body') === 'while you were away');
    const id = stanzaIdBy(got, 'pia@localhost');
    assert.ok(id);
    assert.equal(got.getChildren('stanza-id', NS_SID).length, 1);
    const archived = await query(back);
    assert.deepEqual(archived.results.map((r) => [r.id, r.body]), [[id, 'while you were away']]);
  });

  it('§6.1.1: archives chat/normal with a body or OMEMO payload; not groupchat, errors, chat states, no-store hints, nor strangers under the default "roster" preference', async (t) => {
    const [carol, dave] = await pair(t, 'carol', 'dave');
    const stranger = await server.connectClient(t, 'stranger');
    await carol.send(chat('dave@localhost', 'kept 1'));
    await carol.send(xml('message', { to: 'dave@localhost' }, xml('body', {}, 'kept 2 (normal)')));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' },
      xml('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('header', { sid: '1' }), xml('payload', {}, 'AAAA')),
      xml('store', { xmlns: 'urn:xmpp:hints' })));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('body', {}, 'not kept'), xml('no-store', { xmlns: 'urn:xmpp:hints' })));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('body', {}, 'not kept either'), xml('no-permanent-store', { xmlns: 'urn:xmpp:hints' })));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'groupchat', id: 'gc' }, xml('body', {}, 'groupchat')));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'headline' }, xml('body', {}, 'headline')));
    // Everything carol sent is handled (the ping answers after it) before the stranger writes.
    await carol.ping();
    await stranger.send(chat('dave@localhost', 'from a stranger'));
    await dave.waitFor((e) => e.is('message') && e.getChildText('body') === 'from a stranger');
    const inDave = await query(dave);
    assert.deepEqual(inDave.results.map((r) => r.body ?? (r.message.getChild('encrypted') ? 'omemo' : '?')), ['kept 1', 'kept 2 (normal)', 'omemo']);
    assert.ok(inDave.complete);
    const inCarol = await query(carol, { fields: { with: 'dave@localhost' } });
    assert.equal(inCarol.results.length, 3);
    // The stranger's own archive: dave is not in its roster either.
    assert.equal((await query(stranger)).results.length, 0);
    // §6.1: a message the recipient rejects (XEP-0191 block) is not in the recipient's archive.
    await dave.iqSet(xml('block', { xmlns: 'urn:xmpp:blocking' }, xml('item', { jid: 'carol@localhost' })));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat', id: 'blocked' }, xml('body', {}, 'blocked')));
    await carol.waitFor((e) => e.is('message') && e.attrs['id'] === 'blocked' && e.attrs['type'] === 'error');
    assert.equal((await query(dave)).results.length, 3);
  });

  it('§4.1, §4.3: filters by contact (bare/full) and date, pages forwards and backwards with RSM, flips pages, after-id/before-id, count', async (t) => {
    const [erin, frank] = await pair(t, 'erin', 'frank');
    const [, gina] = await pair(t, 'erin', 'gina');
    const before = new Date(Date.now() - 1000).toISOString();
    for (let i = 1; i <= 7; i++) {
      await erin.send(chat('frank@localhost', `f${i}`));
      if (i % 3 !== 0) continue;
      // One conversation after the other, so the archive's order is known: f_i is handled
      // (the ping answers after it), then g_i arrives before f_i+1 is sent.
      await erin.ping();
      await gina.send(chat('erin@localhost', `g${i}`));
      await erin.waitFor((e) => e.is('message') && e.getChildText('body') === `g${i}`);
    }
    await frank.waitFor((e) => e.is('message') && e.getChildText('body') === 'f7');
    await until('erin archived everything', async () => (await query(erin)).results.length === 9);
    const all = await query(erin);
    assert.deepEqual(all.results.map((r) => r.body), ['f1', 'f2', 'f3', 'g3', 'f4', 'f5', 'f6', 'g6', 'f7']);
    assert.equal(all.count, 9);
    for (const r of all.results) assert.ok(r.stamp && Date.parse(r.stamp) >= Date.parse(before));

    const withFrank = await query(erin, { fields: { with: 'frank@localhost' } });
    assert.deepEqual(withFrank.results.map((r) => r.body), ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7']);
    const withGinaFull = await query(erin, { fields: { with: gina.jid.toString() } });
    assert.deepEqual(withGinaFull.results.map((r) => r.body), ['g3', 'g6']);
    assert.equal((await query(erin, { fields: { with: 'gina@localhost/elsewhere' } })).results.length, 0);

    // Forwards, three at a time.
    const p1 = await query(erin, { fields: { with: 'frank@localhost' }, max: 3 });
    assert.deepEqual(p1.results.map((r) => r.body), ['f1', 'f2', 'f3']);
    assert.equal(p1.complete, false);
    assert.equal(p1.first, p1.results[0]?.id);
    assert.equal(p1.count, 7);
    const p2 = await query(erin, { fields: { with: 'frank@localhost' }, max: 3, after: p1.last });
    assert.deepEqual(p2.results.map((r) => r.body), ['f4', 'f5', 'f6']);
    const p3 = await query(erin, { fields: { with: 'frank@localhost' }, max: 3, after: p2.last });
    assert.deepEqual(p3.results.map((r) => r.body), ['f7']);
    assert.equal(p3.complete, true);
    // Backwards from the end (empty <before/>), as Conversations and Gajim do.
    const last = await query(erin, { fields: { with: 'frank@localhost' }, max: 3, before: '' });
    assert.deepEqual(last.results.map((r) => r.body), ['f5', 'f6', 'f7']);
    assert.equal(last.complete, false);
    const earlier = await query(erin, { fields: { with: 'frank@localhost' }, max: 3, before: last.first });
    assert.deepEqual(earlier.results.map((r) => r.body), ['f2', 'f3', 'f4']);
    const earliest = await query(erin, { fields: { with: 'frank@localhost' }, max: 3, before: earlier.first });
    assert.deepEqual(earliest.results.map((r) => r.body), ['f1']);
    assert.equal(earliest.complete, true);
    // <flip-page/>: the same page, newest first.
    const flipped = await query(erin, { fields: { with: 'frank@localhost' }, max: 3, before: '', flip: true });
    assert.deepEqual(flipped.results.map((r) => r.body), ['f7', 'f6', 'f5']);
    assert.equal(flipped.first, last.first);
    // after-id / before-id (exclusive), ids.
    const ids = all.results.map((r) => r.id);
    const between = await query(erin, { fields: { 'after-id': ids[1] as string, 'before-id': ids[5] as string } });
    assert.deepEqual(between.results.map((r) => r.body), ['f3', 'g3', 'f4']);
    const picked = await query(erin, { fields: { ids: [ids[8] as string, ids[0] as string] } });
    assert.deepEqual(picked.results.map((r) => r.body), ['f1', 'f7']);
    // Dates: start and end are inclusive.
    const at = all.results[4]?.stamp as string;
    const fromStamp = await query(erin, { fields: { start: at } });
    assert.ok(fromStamp.results.every((r) => Date.parse(r.stamp) >= Date.parse(at)));
    assert.ok(fromStamp.results.some((r) => r.body === 'f4'));
    const untilStamp = await query(erin, { fields: { end: at } });
    assert.ok(untilStamp.results.some((r) => r.body === 'f4') && untilStamp.results.every((r) => Date.parse(r.stamp) <= Date.parse(at)));
    assert.equal((await query(erin, { fields: { start: new Date(Date.now() + 60_000).toISOString() } })).results.length, 0);
    assert.equal((await query(erin, { fields: { end: '2000-01-01T00:00:00Z' } })).results.length, 0);
    // max 0: the count alone (XEP-0059 §2.7).
    const counted = await query(erin, { fields: { with: 'gina@localhost' }, max: 0 });
    assert.deepEqual([counted.results.length, counted.count], [0, 2]);
  });

  it('§5 metadata and the error conditions: item-not-found, bad-request, feature-not-implemented, forbidden', async (t) => {
    const [hank] = await pair(t, 'hank', 'ida');
    assert.equal((await hank.iqGet(xml('metadata', { xmlns: NS_MAM }))).children.length, 0, 'an empty archive has empty metadata');
    await hank.send(chat('ida@localhost', 'm1'));
    await hank.send(chat('ida@localhost', 'm2'));
    await until('two archived', async () => (await query(hank)).results.length === 2);
    const all = await query(hank);
    const meta = await hank.iqGet(xml('metadata', { xmlns: NS_MAM }));
    assert.equal(meta.getChild('start')?.attrs['id'], all.results[0]?.id);
    assert.equal(meta.getChild('end')?.attrs['id'], all.results[1]?.id);
    assert.equal(meta.getChild('end')?.attrs['timestamp'], all.results[1]?.stamp);

    assert.equal(await errorOf(query(hank, { after: 'no-such-id' })), 'item-not-found');
    assert.equal(await errorOf(query(hank, { before: 'no-such-id' })), 'item-not-found');
    assert.equal(await errorOf(query(hank, { fields: { 'after-id': 'no-such-id' } })), 'item-not-found');
    assert.equal(await errorOf(query(hank, { fields: { ids: ['no-such-id'] } })), 'item-not-found');
    assert.equal(await errorOf(query(hank, { fields: { start: 'yesterday' } })), 'bad-request');
    assert.equal(await errorOf(query(hank, { fields: { with: 'not a@jid@x' } })), 'bad-request');
    assert.equal(await errorOf(query(hank, { fields: { 'include-groupchat': 'true' } })), 'feature-not-implemented');
    assert.equal(await errorOf(hank.iqSet(xml('query', { xmlns: NS_MAM }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, 'ten'))))), 'bad-request');
    assert.equal(await errorOf(hank.iqSet(xml('query', { xmlns: NS_MAM }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('index', {}, '3'))))), 'feature-not-implemented');
    assert.equal(await errorOf(hank.iqSet(xml('query', { xmlns: NS_MAM },
      xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp:mam:1')))))), 'bad-request');
    // §8.1: someone else's archive.
    assert.equal(await errorOf(query(hank, { to: 'ida@localhost' })), 'forbidden');
    // A <max/> over max_page_size (250) gets a capped, incomplete page rather than everything.
    const big = await query(hank, { max: 100_000 });
    assert.equal(big.results.length, 2);
    assert.ok(big.complete);
  });

  it('XEP-0441 with slixmpp: never, always and roster preferences decide what is archived; XEP-0313 paging with slixmpp', { skip: slixmppUnavailable() }, async (t) => {
    const [jack, kate] = await pair(t, 'jack', 'kate');
    const stranger = await server.connectClient(t, 'lou');
    const slix = await connectSlix(t, { jid: 'jack@localhost', password: server.passwords.get('jack@localhost') as string, port: server.ports.c2s_starttls, resource: 'slix' });
    const get = async () => slix.command('mam_prefs_get');
    const initial = await get();
    assert.deepEqual([initial['default'], initial['always'], initial['never']], ['roster', [], []]);

    // never, with kate always: only kate's messages are archived.
    await slix.command('mam_prefs_set', { default: 'never', always: ['kate@localhost'], never: [] });
    await kate.send(chat('jack@localhost', 'kate always'));
    await stranger.send(chat('jack@localhost', 'lou never'));
    await jack.waitFor((e) => e.is('message') && e.getChildText('body') === 'lou never');
    await jack.waitFor((e) => e.is('message') && e.getChildText('body') === 'kate always');
    // always, with kate never: the stranger is archived, kate is not.
    const set = await slix.command('mam_prefs_set', { default: 'always', always: [], never: ['kate@localhost'] });
    assert.equal(set['ok'], true);
    await kate.send(chat('jack@localhost', 'kate never'));
    await stranger.send(chat('jack@localhost', 'lou always'));
    await jack.waitFor((e) => e.is('message') && e.getChildText('body') === 'lou always');
    await jack.waitFor((e) => e.is('message') && e.getChildText('body') === 'kate never');
    const got = await get();
    assert.deepEqual([got['default'], got['always'], got['never']], ['always', [], ['kate@localhost']]);
    // roster: kate (a contact) again, not the stranger.
    await slix.command('mam_prefs_set', { default: 'roster', always: [], never: [] });
    await kate.send(chat('jack@localhost', 'kate roster'));
    await stranger.send(chat('jack@localhost', 'lou roster'));
    await jack.waitFor((e) => e.is('message') && e.getChildText('body') === 'lou roster');
    await jack.waitFor((e) => e.is('message') && e.getChildText('body') === 'kate roster');
    // Read back with slixmpp's own xep_0313 iterate (RSM pages of 2, forwards and backwards).
    const forwards = await slix.command('mam_iterate', { archive: 'jack@localhost', max: 2 });
    assert.deepEqual(forwards['bodies'], ['kate always', 'lou always', 'kate roster']);
    const backwards = await slix.command('mam_iterate', { archive: 'jack@localhost', max: 2, reverse: true });
    assert.deepEqual(backwards['bodies'], ['kate roster', 'lou always', 'kate always']);
    const withKate = await slix.command('mam_iterate', { archive: 'jack@localhost', max: 10, with: 'kate@localhost' });
    assert.deepEqual(withKate['bodies'], ['kate always', 'kate roster']);
    const meta = await slix.command('mam_metadata', { archive: 'jack@localhost' });
    assert.ok(meta['start'] && meta['end']);
  });

  it('keeps the archive across a restart, exports it (XEP-0227 urn:xmpp:pie:0#mam) and erases it with the account', async (t) => {
    const [mia, ned] = await pair(t, 'mia', 'ned');
    await mia.send(chat('ned@localhost', 'before the restart'));
    await ned.waitFor((e) => e.is('message') && e.getChildText('body') === 'before the restart');
    await mia.close();
    await ned.close();
    await server.stop();
    const passwords = server.passwords;
    server = await startServer({ root: server.root, hosts: ['localhost', OTHER], modules: { mam: {} }, config: { hosts: { [OTHER]: { modules: { mam: false } } } } });
    for (const [jid, pw] of passwords) server.passwords.set(jid, pw);
    const mia2 = await server.connectClient(t, 'mia');
    const kept = await query(mia2);
    assert.deepEqual(kept.results.map((r) => r.body), ['before the restart']);

    const exported = await server.cli(['export', 'ned@localhost']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /<archive xmlns=['"]urn:xmpp:pie:0#mam['"]>/);
    assert.match(exported.stdout, /<result xmlns=['"]urn:xmpp:mam:2['"] id=/);
    assert.match(exported.stdout, /before the restart/);

    assert.equal(await withStorage(server, (s) => s.archive('localhost', 'mam').count('ned')), 1);
    const del = await server.cli(['deluser', 'ned@localhost']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await withStorage(server, (s) => s.archive('localhost', 'mam').count('ned')), 0);
    assert.equal(await withStorage(server, (s) => s.archive('localhost', 'mam').count('mia')), 1, "the contact's own archive stays");

    // The export brings the archive back, with the same ids (XEP-0227 import).
    const file = join(server.root, 'ned.xml');
    writeFileSync(file, exported.stdout);
    const imported = await server.cli(['import', file]);
    assert.equal(imported.code, 0, imported.stderr);
    const ned2 = await server.connectClient(t, 'ned');
    const restored = await query(ned2);
    assert.deepEqual(restored.results.map((r) => r.body), ['before the restart']);
    assert.ok(exported.stdout.includes(`id="${restored.results[0]?.id}"`) || exported.stdout.includes(`id='${restored.results[0]?.id}'`));
  });
});
