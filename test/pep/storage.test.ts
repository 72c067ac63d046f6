// PEP items are personal data: sealed at rest (no marker readable in the data directory), kept
// across a restart (the last item still reaches a contact coming online), exported in XEP-0227
// and imported back, and erased with the account.
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
const NS_NICK = 'http://jabber.org/protocol/nick';
const MARKER = { nick: 'PepNickMarker-7f3e', bundle: 'PepBundleMarker-c41d' };

describe('PEP storage: sealed, persistent, exported, deleted with the account', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [[ALICE, 'alice-pw'], [BOB, 'bob-pw']] });
  });
  after(() => server.remove());

  it('stores items sealed and keeps them across a restart', async (t) => {
    const alice = await server.connectClient(t, ALICE);
    const bob = await server.connectClient(t, BOB);
    await alice.send(xml('presence'));
    await bob.send(xml('presence'));
    await befriend(alice, ALICE, bob, BOB);
    await alice.iqSet(publish(NS_NICK, 'current', xml('nick', { xmlns: NS_NICK }, MARKER.nick)));
    await alice.iqSet(publish('eu.siacs.conversations.axolotl.bundles:42', 'current', xml('bundle', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('identityKey', {}, MARKER.bundle)), { 'pubsub#access_model': 'open' }));
    await alice.close();
    await bob.close();
    await server.stop();

    for (const f of listFiles(server.dataDir)) {
      const text = readFileSync(f).toString('latin1');
      for (const marker of Object.values(MARKER)) assert.ok(!text.includes(marker), `${marker} readable in ${f}`);
    }

    server = await startServer({ root: server.root });
    server.passwords.set(ALICE, 'alice-pw');
    server.passwords.set(BOB, 'bob-pw');
    const bob2 = await server.connectClient(t, BOB);
    await goOnlineWithCaps(bob2, [`${NS_NICK}+notify`]);
    const last = await bob2.waitFor(eventFor(ALICE, NS_NICK), 10_000, 'the last nick after the restart');
    assert.equal(last.getChild('event')?.getChild('items')?.getChild('item')?.getChildText('nick'), MARKER.nick);
  });

  it('exports PEP nodes and items in XEP-0227, erases them with the account, and imports them back', async (t) => {
    const exported = await server.cli(['export', ALICE]);
    assert.equal(exported.code, 0, exported.stderr);
    const doc = exported.stdout;
    assert.match(doc, /<pubsub xmlns="http:\/\/jabber.org\/protocol\/pubsub#owner">\s*<configure node="eu.siacs.conversations.axolotl.bundles:42">\s*<x xmlns="jabber:x:data" type="submit">/);
    assert.match(doc, /<field var="pubsub#access_model"[^>]*>\s*(<option>.*?<\/option>\s*)*<value>open<\/value>/s);
    assert.match(doc, new RegExp(`<pubsub xmlns="http://jabber.org/protocol/pubsub">[\\s\\S]*<items node="http://jabber.org/protocol/nick">\\s*<item id="current" publisher="${ALICE}">\\s*<nick xmlns="${NS_NICK}">${MARKER.nick}</nick>`));

    assert.equal((await server.cli(['deluser', ALICE])).code, 0);
    await server.adduser(ALICE, 'alice-pw-2');
    const fresh = await server.connectClient(t, ALICE);
    assert.deepEqual(await refused(fresh.iqGet(itemsQuery(NS_NICK))), ['item-not-found', undefined]);
    await fresh.close();
    await server.stop();

    const file = join(server.root, 'alice.xml');
    writeFileSync(file, doc);
    const imported = await server.cli(['import', file, '--overwrite']);
    assert.equal(imported.code, 0, imported.stderr);
    server = await startServer({ root: server.root });
    server.passwords.set(ALICE, 'alice-pw');
    const back = await server.connectClient(t, ALICE);
    const items = (await back.iqGet(itemsQuery('eu.siacs.conversations.axolotl.bundles:42'))).getChild('items');
    assert.equal(items?.getChild('item')?.getChild('bundle')?.getChildText('identityKey'), MARKER.bundle);
    const cfg = await back.iqGet(xml('pubsub', { xmlns: `${NS_PUBSUB}#owner` }, xml('configure', { node: 'eu.siacs.conversations.axolotl.bundles:42' })));
    assert.match(cfg.toString(), /<field var="pubsub#access_model"[^>]*>(<option>.*?<\/option>)*<value>open<\/value>/);
    assert.equal((await server.cli(['export', ALICE])).stdout, doc, 'export -> import -> export is the same document');
  });
});
