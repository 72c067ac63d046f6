// PEP items are personal data: sealed at rest (no marker readable in the data directory), kept
// across a restart (the last item still reaches a contact coming online), exported in XEP-0227,
// erased with the account, and imported back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import { NS_PUBSUB, befriend, eventFor, goOnlineWithCaps, itemsQuery, publish, refused } from './helpers.ts';

const D = 'localhost';
const ALICE = `alice@${D}`;
const BOB = `bob@${D}`;
const CAROL = `carol@${D}`;
const NS_NICK = 'http://jabber.org/protocol/nick';
const BUNDLE = 'eu.siacs.conversations.axolotl.bundles:42';
const MARKER = { aliceNick: 'PepNickMarker-7f3e', bundle: 'PepBundleMarker-c41d', carolNick: 'PepNickMarker-2b9a' };

describe('PEP storage: sealed, persistent, exported, deleted with the account', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [[ALICE, 'alice-pw'], [BOB, 'bob-pw'], [CAROL, 'carol-pw']] });
  });
  after(() => server.remove());

  it('exports PEP in XEP-0227, erases it with the account, keeps it sealed and across a restart, and imports it back', async (t) => {
    const alice = await server.connectClient(t, ALICE);
    const carol = await server.connectClient(t, CAROL);
    const bob = await server.connectClient(t, BOB);
    await carol.send(xml('presence'));
    await bob.send(xml('presence'));
    await befriend(carol, CAROL, bob, BOB);
    await alice.iqSet(publish(NS_NICK, 'current', xml('nick', { xmlns: NS_NICK }, MARKER.aliceNick)));
    await alice.iqSet(publish(BUNDLE, 'current', xml('bundle', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('identityKey', {}, MARKER.bundle)), { 'pubsub#access_model': 'open' }));
    await carol.iqSet(publish(NS_NICK, 'current', xml('nick', { xmlns: NS_NICK }, MARKER.carolNick)));
    await alice.close();

    const exported = await server.cli(['export', ALICE]);
    assert.equal(exported.code, 0, exported.stderr);
    const doc = exported.stdout;
    assert.match(doc, new RegExp(`<pubsub xmlns="http://jabber.org/protocol/pubsub#owner">\\s*<configure node="${BUNDLE}">\\s*<x xmlns="jabber:x:data" type="submit">`));
    assert.match(doc, /<field var="pubsub#access_model"[^>]*>\s*(<option>.*?<\/option>\s*)*<value>open<\/value>/s);
    assert.match(doc, new RegExp(`<pubsub xmlns="http://jabber.org/protocol/pubsub">[\\s\\S]*<items node="${NS_NICK}">\\s*<item id="current" publisher="${ALICE}">\\s*<nick xmlns="${NS_NICK}">${MARKER.aliceNick}</nick>`));

    // Deleted with the account: a new account of that name has no PEP data.
    assert.equal((await server.cli(['deluser', ALICE])).code, 0);
    await server.adduser(ALICE, 'alice-pw-2');
    const fresh = await server.connectClient(t, ALICE);
    assert.deepEqual(await refused(fresh.iqGet(itemsQuery(NS_NICK))), ['item-not-found', undefined]);
    await fresh.close();
    await bob.close();
    await carol.close();
    await server.stop();

    for (const f of listFiles(server.dataDir)) {
      const text = readFileSync(f).toString('latin1');
      for (const marker of Object.values(MARKER)) assert.ok(!text.includes(marker), `${marker} readable in ${f}`);
    }

    const file = join(server.root, 'alice.xml');
    writeFileSync(file, doc);
    const imported = await server.cli(['import', file, '--overwrite']);
    assert.equal(imported.code, 0, imported.stderr);

    server = await startServer({ root: server.root });
    server.passwords.set(ALICE, 'alice-pw');
    server.passwords.set(BOB, 'bob-pw');
    // Kept across the restart: Bob's client comes online and gets Carol's last nick.
    const bob2 = await server.connectClient(t, BOB);
    await goOnlineWithCaps(bob2, [`${NS_NICK}+notify`]);
    const last = await bob2.waitFor(eventFor(CAROL, NS_NICK), 10_000, "carol's last nick after the restart");
    assert.equal(last.getChild('event')?.getChild('items')?.getChild('item')?.getChildText('nick'), MARKER.carolNick);
    // Imported back: Alice's items and node configuration, the same document again.
    const back = await server.connectClient(t, ALICE);
    const items = (await back.iqGet(itemsQuery(BUNDLE))).getChild('items');
    assert.equal(items?.getChild('item')?.getChild('bundle')?.getChildText('identityKey'), MARKER.bundle);
    const cfg = await back.iqGet(xml('pubsub', { xmlns: `${NS_PUBSUB}#owner` }, xml('configure', { node: BUNDLE })));
    assert.match(cfg.toString(), /<field var="pubsub#access_model"[^>]*>(<option>.*?<\/option>)*<value>open<\/value>/);
    assert.equal((await server.cli(['export', ALICE])).stdout, doc, 'export -> import -> export is the same document');
  });
});
