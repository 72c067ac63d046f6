// PEP driven by a stock client library: slixmpp's own XEP-0172 (nick), XEP-0084 (avatar),
// XEP-0223 (private PEP storage) and XEP-0060 plugins build every stanza; its XEP-0115 plugin
// announces the +notify interests they register.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectSlix, slixmppUnavailable, type SlixClient, type SlixEvent } from '../harness/slixmpp.ts';
import { until } from '../harness/eventually.ts';

const D = 'localhost';
const ALICE = `alice@${D}`;
const BOB = `bob@${D}`;
const skip = slixmppUnavailable();
// A 1x1 PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const notification = (node: string, text: string) => (e: SlixEvent): boolean =>
  e.event === 'stanza' && 'xml' in e && e.xml.includes('http://jabber.org/protocol/pubsub#event') && e.xml.includes(`node="${node}"`) && e.xml.includes(text);

describe('PEP with slixmpp plugins (XEP-0172, XEP-0084, XEP-0223)', { skip }, () => {
  let server: TestServer;
  let alice: SlixClient;
  let bob: SlixClient;
  let pings = 0;

  before(async () => {
    server = await startServer({ users: [[ALICE, 'alice-pw'], [BOB, 'bob-pw']] });
    alice = await connectSlix(undefined, { jid: ALICE, password: 'alice-pw', port: server.ports.c2s_starttls, resource: 'slix' });
    bob = await connectSlix(undefined, { jid: BOB, password: 'bob-pw', port: server.ports.c2s_starttls, resource: 'slix' });
    await alice.command('pep_setup');
    await bob.command('pep_setup');
    // Each pre-approves the other (RFC 6121 §3.4), then asks; a ping after each makes the order.
    const ping = (c: SlixClient) => c.iq(`<iq type='get' to='${D}' id='p${++pings}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    for (const [c, to, type] of [[bob, ALICE, 'subscribed'], [alice, BOB, 'subscribed'], [alice, BOB, 'subscribe'], [bob, ALICE, 'subscribe']] as const) {
      await c.subscribe(to, type);
      await ping(c);
    }
    await until('alice and bob subscribed both ways', async () =>
      (await alice.rosterGet()).items.some((i) => i.jid === BOB && i.subscription === 'both') &&
      (await bob.rosterGet()).items.some((i) => i.jid === ALICE && i.subscription === 'both'), 10_000);
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await server?.remove();
  });

  it('XEP-0172: the nick reaches the contact that +notifies it, and can be fetched', async () => {
    const r = await alice.command('pep_nick', { nick: 'Alice in PEP' });
    assert.equal(r['error'], undefined, String(r['xml']));
    await bob.waitFor(notification('http://jabber.org/protocol/nick', 'Alice in PEP'), 10_000, 'the nick notification');
    const items = await bob.command('pep_get_items', { jid: ALICE, node: 'http://jabber.org/protocol/nick' });
    assert.match(String(items['xml']), /<nick xmlns="http:\/\/jabber.org\/protocol\/nick">Alice in PEP<\/nick>/);
  });

  it('XEP-0084: avatar data then metadata; the contact hears of the metadata and fetches the data by id', async () => {
    const r = await alice.command('pep_avatar_publish', { data_b64: PNG, type: 'image/png', width: 1, height: 1 });
    assert.equal(r['error'], undefined, String(r['xml']));
    const id = String(r['avatar_id']);
    await bob.waitFor(notification('urn:xmpp:avatar:metadata', id), 10_000, 'the avatar metadata notification');
    const data = await bob.command('pep_avatar_retrieve', { jid: ALICE, avatar_id: id });
    assert.equal(data['error'], undefined, String(data['xml']));
    assert.ok(String(data['xml']).includes(`<item id="${id}"><data xmlns="urn:xmpp:avatar:data">${PNG}</data>`), String(data['xml']));
  });

  it('XEP-0223: private data stored with persist_items and a whitelist; the owner reads it, the contact may not', async () => {
    const stored = await alice.command('pep_private_store', { node: 'urn:example:private', item_id: 'current', xml: "<secret xmlns='urn:example:private'>for me only</secret>" });
    assert.equal(stored['error'], undefined, String(stored['xml']));
    const mine = await alice.command('pep_private_retrieve', { node: 'urn:example:private' });
    assert.match(String(mine['xml']), /<secret xmlns="urn:example:private">for me only<\/secret>/);
    const theirs = await bob.command('pep_get_items', { jid: ALICE, node: 'urn:example:private' });
    assert.equal(theirs['error'], 'not-allowed');
    assert.match(String(theirs['xml']), /<closed-node xmlns="http:\/\/jabber.org\/protocol\/pubsub#errors" ?\/>/);
  });
});
