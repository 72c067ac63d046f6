// XEP-0163 PEP as OMEMO (XEP-0384, legacy 'eu.siacs.conversations.axolotl' and OMEMO 2) and
// Bookmarks 2 (XEP-0402) use it, with the exact stanzas Conversations, Dino and Gajim send:
// publish-options (§7.1.5) on auto-create and as preconditions, +notify notifications, the last
// item when a contact comes online with caps, open bundles for strangers, whitelist bookmarks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import { NS_PUBSUB, befriend, eventFor, goOnlineWithCaps, hasItem, itemsQuery, publish, refused } from './helpers.ts';

const D = 'localhost';
const ALICE = `alice@${D}`;
const BOB = `bob@${D}`;
const AXOLOTL = 'eu.siacs.conversations.axolotl';
const DEVICELIST = `${AXOLOTL}.devicelist`;
const OMEMO2 = 'urn:xmpp:omemo:2';
const OMEMO2_DEVICES = `${OMEMO2}:devices`;
const OMEMO2_BUNDLES = `${OMEMO2}:bundles`;
const BOOKMARKS = 'urn:xmpp:bookmarks:1';

const deviceList = (...ids: number[]) => xml('list', { xmlns: AXOLOTL }, ...ids.map((id) => xml('device', { id: String(id) })));
const legacyBundle = (marker: string) => xml('bundle', { xmlns: AXOLOTL },
  xml('signedPreKeyPublic', { signedPreKeyId: '1' }, 'BQzxa0ZpWFHcnzQbmIy8FZJ9XIUNobqBBeMz7sZ6QHV4'),
  xml('signedPreKeySignature', {}, marker),
  xml('identityKey', {}, 'BTt5O7r8TbmAI1vxjgWBv7AFSBCgr0IkuiJ4P9ZHyxV6'),
  xml('prekeys', {}, xml('preKeyPublic', { preKeyId: '1' }, 'BYDbfw9T3PTrDTN0pGgmFcgm/dFO5Ya2lqJ7dSp3wZ0Z'), xml('preKeyPublic', { preKeyId: '2' }, 'BQxxlK4B3GwTsSz4PdVdDNEp+vSNSj2OM6rr8AoIHUzG')));
const omemo2Bundle = (spk: string) => xml('bundle', { xmlns: OMEMO2 },
  xml('spk', { id: '0' }, spk), xml('spks', {}, 'c3Brcw=='), xml('ik', {}, 'aWs='),
  xml('prekeys', {}, xml('pk', { id: '0' }, 'cGsw'), xml('pk', { id: '1' }, 'cGsx')));

function deviceIds(items: Element): string[] {
  return items.getChildren('item').flatMap((i: Element) => i.getChild('list', AXOLOTL)?.getChildren('device').map((d: Element) => String(d.attrs['id'])) ?? []);
}

describe('PEP for OMEMO and Bookmarks 2 (XEP-0163, XEP-0384, XEP-0402)', () => {
  let server: TestServer;
  let alice: TestClient;
  let laptop: TestClient;
  let bob: TestClient;
  let eve: TestClient;

  before(async () => {
    server = await startServer({ users: [[ALICE, 'alice-pw'], [BOB, 'bob-pw'], [`eve@${D}`, 'eve-pw'], [`carol@${D}`, 'carol-pw']] });
    alice = await server.connectClient(undefined, ALICE, { resource: 'phone' });
    laptop = await server.connectClient(undefined, ALICE, { resource: 'laptop' });
    bob = await server.connectClient(undefined, BOB, { resource: 'conversations' });
    eve = await server.connectClient(undefined, `eve@${D}`);
    await alice.send(xml('presence'));
    await bob.send(xml('presence'));
    await befriend(alice, ALICE, bob, BOB);
  });
  after(async () => {
    for (const c of [alice, laptop, bob, eve]) await c?.close();
    await server.remove();
  });

  it('disco#info on the account: pubsub/pep identity and the XEP-0060 features clients look for', async () => {
    const info = await bob.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), ALICE);
    assert.ok(info.getChildren('identity').some((i: Element) => i.attrs['category'] === 'pubsub' && i.attrs['type'] === 'pep'));
    const features = info.getChildren('feature').map((f: Element) => f.attrs['var']);
    for (const f of ['publish-options', 'auto-create', 'filtered-notifications', 'last-published', 'access-whitelist', 'rsm']) {
      assert.ok(features.includes(`${NS_PUBSUB}#${f}`), f);
    }
  });

  it('disco#info on the domain lists PEP too, as ejabberd does: profanity sends publish-options only when it finds them there', async () => {
    const info = await bob.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), D);
    assert.ok(info.getChildren('identity').some((i: Element) => i.attrs['category'] === 'pubsub' && i.attrs['type'] === 'pep'));
    const features = info.getChildren('feature').map((f: Element) => f.attrs['var']);
    assert.ok(features.includes(`${NS_PUBSUB}#publish-options`));
  });

  it('legacy OMEMO: devicelist and bundle published open (auto-create with publish-options); a contact with +notify gets the last item on coming online, then each change; a stranger reads the bundle', async () => {
    const open = { 'pubsub#access_model': 'open' };
    const r = await alice.iqSet(publish(DEVICELIST, 'current', deviceList(1111), open));
    assert.equal(r.getChild('publish')?.getChild('item')?.attrs['id'], 'current');
    await alice.iqSet(publish(`${AXOLOTL}.bundles:1111`, 'current', legacyBundle('sig-1111'), open));

    // Bob's Conversations announces +notify in its caps: the last devicelist comes at once, delayed.
    await goOnlineWithCaps(bob, [`${DEVICELIST}+notify`, `${OMEMO2_DEVICES}+notify`]);
    const last = await bob.waitFor(eventFor(ALICE, DEVICELIST, hasItem('current')), 10_000, 'last devicelist');
    assert.ok(last.getChild('delay', 'urn:xmpp:delay'));
    assert.deepEqual(deviceIds(last.getChild('event')?.getChild('items') as Element), ['1111']);

    await alice.iqSet(publish(DEVICELIST, 'current', deviceList(1111, 2222), open));
    const change = await bob.waitFor(eventFor(ALICE, DEVICELIST, (items) => deviceIds(items).length === 2), 10_000, 'devicelist change');
    assert.equal(change.attrs['type'], 'headline');

    // Bob fetches the bundle as Conversations does (max_items=1); so may Eve, a stranger: it's open.
    for (const c of [bob, eve]) {
      const items = (await c.iqGet(itemsQuery(`${AXOLOTL}.bundles:1111`, { max: 1 }), ALICE)).getChild('items');
      assert.equal(items?.getChild('item')?.getChild('bundle', AXOLOTL)?.getChildText('signedPreKeySignature'), 'sig-1111');
    }
    // Eve hears nothing: no subscription, no caps.
    await eve.expectNone((e) => e.is('message') && e.getChild('event') !== undefined, 2000, 'notifications to a stranger');
  });

  it('§4.3.3: a contact whose subscription is approved gets the last items its client +notifies at once', async () => {
    const carol = await server.connectClient(undefined, `carol@${D}`);
    try {
      await goOnlineWithCaps(carol, [`${DEVICELIST}+notify`]);
      await befriend(alice, ALICE, carol, `carol@${D}`);
      const last = await carol.waitFor(eventFor(ALICE, DEVICELIST, hasItem('current')), 10_000, 'the devicelist on approval');
      assert.deepEqual(deviceIds(last.getChild('event')?.getChild('items') as Element), ['1111', '2222']);
    } finally {
      await carol.close();
    }
  });

  it('§7.1.5: publish-options that contradict the existing node answer <conflict/> + <precondition-not-met/>', async () => {
    const [cond, app] = await refused(alice.iqSet(publish(`${AXOLOTL}.bundles:1111`, 'current', legacyBundle('sig-x'), { 'pubsub#access_model': 'presence' })));
    assert.deepEqual([cond, app], ['conflict', 'precondition-not-met']);
    const items = (await eve.iqGet(itemsQuery(`${AXOLOTL}.bundles:1111`), ALICE)).getChild('items');
    assert.equal(items?.getChild('item')?.getChild('bundle', AXOLOTL)?.getChildText('signedPreKeySignature'), 'sig-1111', 'nothing was published');
  });

  it('OMEMO 2: devices notified to the contact; bundles in one node (max_items max), fetched by device id', async () => {
    await alice.iqSet(publish(OMEMO2_DEVICES, 'current', xml('devices', { xmlns: OMEMO2 }, xml('device', { id: '31415', label: 'Phone' })), { 'pubsub#access_model': 'open' }));
    await bob.waitFor(eventFor(ALICE, OMEMO2_DEVICES, hasItem('current')), 10_000, 'omemo 2 devices');
    const opts = { 'pubsub#max_items': 'max', 'pubsub#access_model': 'open' };
    await alice.iqSet(publish(OMEMO2_BUNDLES, '31415', omemo2Bundle('spk-31415'), opts));
    await laptop.iqSet(publish(OMEMO2_BUNDLES, '27182', omemo2Bundle('spk-27182'), opts));
    for (const [c, id] of [[bob, '31415'], [eve, '27182'], [bob, '27182']] as const) {
      const items = (await c.iqGet(itemsQuery(OMEMO2_BUNDLES, { ids: [id] }), ALICE)).getChild('items');
      const got = items?.getChildren('item') ?? [];
      assert.equal(got.length, 1);
      assert.equal(got[0]?.getChild('bundle', OMEMO2)?.getChildText('spk'), `spk-${id}`);
    }
    const [cond] = await refused(bob.iqGet(itemsQuery(OMEMO2_BUNDLES, { ids: ['999'] }), ALICE));
    assert.equal(cond, 'item-not-found');
  });

  it('Bookmarks 2: whitelist, persistent, max items; the owner\'s other resource is notified; nobody else may read', async () => {
    await goOnlineWithCaps(laptop, [`${BOOKMARKS}+notify`]);
    const options = {
      'pubsub#persist_items': 'true',
      'pubsub#access_model': 'whitelist',
      'pubsub#max_items': 'max',
      'pubsub#send_last_published_item': 'never',
    };
    const room = 'theplay@conference.shakespeare.lit';
    const conference = xml('conference', { xmlns: BOOKMARKS, autojoin: 'true', name: 'The Play\'s the Thing' }, xml('nick', {}, 'JC'));
    await alice.iqSet(publish(BOOKMARKS, room, conference, options));
    const ev = await laptop.waitFor(eventFor(ALICE, BOOKMARKS, hasItem(room)), 10_000, 'bookmark notification');
    assert.equal(ev.getChild('event')?.getChild('items')?.getChild('item')?.getChild('conference', BOOKMARKS)?.getChildText('nick'), 'JC');
    await alice.iqSet(publish(BOOKMARKS, 'orchard@conference.shakespeare.lit', xml('conference', { xmlns: BOOKMARKS, autojoin: 'false' }), options));
    const all = (await laptop.iqGet(itemsQuery(BOOKMARKS))).getChild('items')?.getChildren('item') ?? [];
    assert.deepEqual(all.map((i: Element) => i.attrs['id']).sort(), ['orchard@conference.shakespeare.lit', room]);
    for (const c of [bob, eve]) {
      assert.deepEqual(await refused(c.iqGet(itemsQuery(BOOKMARKS), ALICE)), ['not-allowed', 'closed-node']);
    }
    // Neither does the node show in their disco#items.
    const seen = await bob.iqGet(xml('query', 'http://jabber.org/protocol/disco#items'), ALICE);
    const nodes = seen.getChildren('item').map((i: Element) => i.attrs['node']);
    assert.ok(nodes.includes(DEVICELIST) && !nodes.includes(BOOKMARKS), nodes.join(' '));
    // Retraction (as Conversations removes a bookmark: notify='true') reaches the other resource.
    await alice.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('retract', { node: BOOKMARKS, notify: 'true' }, xml('item', { id: room }))));
    await laptop.waitFor(eventFor(ALICE, BOOKMARKS, (items) => items.getChild('retract')?.attrs['id'] === room), 10_000, 'retract notification');
    assert.ok(bob.received.every((e) => !eventFor(ALICE, BOOKMARKS)(e)), 'bob never heard of the bookmarks');
  });
});
