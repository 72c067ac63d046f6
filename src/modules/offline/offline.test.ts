// XEP-0160 offline messages with XEP-0203 delay stamps, end to end: a real server process and
// @xmpp/client over TLS; the storage is checked in the server's own database, through the store API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { eventually } from '../../../test/harness/eventually.ts';
import { offlineTotal } from '../../../test/harness/store.ts';
import { match, xml, type Element } from '../../../test/harness/client.ts';
import { connectSlix, slixmppUnavailable } from '../../../test/harness/slixmpp.ts';

const NS_DELAY = 'urn:xmpp:delay';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/**
 * Offline messages the server holds, for all its accounts, counted through the store API (the
 * tests keep the queue empty between tests).
 */
function storedCount(server: TestServer): Promise<number> {
  return offlineTotal(server);
}

const chat = (to: string, body: string, id?: string) => xml('message', { to, type: 'chat', id }, xml('body', {}, body));
const isBounce = (id: string) => (e: Element) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id'] === id;

describe('XEP-0160 offline messages', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, offline: { max_messages: 3 } } });
  });
  after(() => server.stop());

  it('§4: advertises msgoffline', async (t) => {
    const c = await server.connectClient(t, 'disco');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), server.domain);
    assert.ok(info.getChildren('feature').some((f: Element) => f.attrs['var'] === 'msgoffline'));
  });

  it('§2: stores, delivers in order at the next available presence with a XEP-0203 stamp, then forgets', async (t) => {
    await server.adduser('juliet');
    const romeo = await server.connectClient(t, 'romeo');
    const sentAt = Date.now();
    await romeo.send(chat('juliet@localhost', 'first', 'o1'));
    await romeo.send(chat('juliet@localhost/balcony', 'second (to a resource that is gone)', 'o2'));
    // §3: chat-state-only messages are not kept, and the sender gets no error for them either.
    await romeo.send(xml('message', { to: 'juliet@localhost', type: 'chat', id: 'cs' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await romeo.send(chat('juliet@localhost', 'third', 'o3'));
    await romeo.expectNone((e) => e.attrs['type'] === 'error', 500, 'an error for a stored message');
    assert.equal(await storedCount(server), 3);
    // Bodies never reach the logs (debug level in the harness).
    assert.ok(!server.logs().includes('second (to a resource that is gone)'));

    const juliet = await server.connectClient(t, 'juliet');
    // Nothing before available presence (§2 step 5).
    await juliet.expectNone(match.message(), 300, 'a message before presence');
    await juliet.send(xml('presence'));
    const got: Element[] = [];
    for (let i = 0; i < 3; i++) got.push(await juliet.waitFor(match.message('romeo@localhost'), 5000, `offline message ${i + 1}`));
    assert.deepEqual(got.map((m) => m.getChildText('body')), ['first', 'second (to a resource that is gone)', 'third']);
    for (const m of got) {
      assert.equal(m.attrs['from'], romeo.jid.toString());
      const delay = m.getChild('delay', NS_DELAY);
      assert.ok(delay, 'XEP-0203 <delay/>');
      assert.equal(delay.attrs['from'], 'localhost');
      const stamp = Date.parse(String(delay.attrs['stamp']));
      assert.match(String(delay.attrs['stamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(stamp >= sentAt - 1000 && stamp <= Date.now(), `stamp ${String(delay.attrs['stamp'])} is the arrival time`);
    }
    await juliet.expectNone(match.message(), 300, 'the chat-state-only message');
    // Deleted once acknowledged, or once the client closes its stream after receiving them (stock
    // xmpp.js leaves IQ results out of its count, so its last stanzas stay unacknowledged until then).
    await juliet.close();
    await eventually(() => storedCount(server), 0, 'delivered messages deleted once acknowledged or the stream closed');

    // A later login receives nothing: the messages are gone.
    const again = await server.connectClient(t, 'juliet');
    await again.send(xml('presence'));
    await again.expectNone(match.message(), 700, 'a second delivery');
  });

  it('§2 step 3: a full queue bounces with service-unavailable; error and headline messages are never kept', async (t) => {
    await server.adduser('busy');
    const sender = await server.connectClient(t, 'sender');
    for (let i = 1; i <= 3; i++) await sender.send(chat('busy@localhost', `m${i}`, `q${i}`));
    await sender.send(chat('busy@localhost', 'one too many', 'q4'));
    const bounce = await sender.waitFor(isBounce('q4'), 5000, 'bounce of the 4th message');
    assert.ok(bounce.getChild('error')?.getChild('service-unavailable', NS_STANZAS));
    await sender.send(xml('message', { to: 'busy@localhost', type: 'headline' }, xml('body', {}, 'news')));
    await sender.send(xml('message', { to: 'busy@localhost', type: 'error' }, xml('body', {}, 'err')));
    // XEP-0334 <no-store/>: not kept, so the sender hears it was not delivered.
    await sender.send(xml('message', { to: 'busy@localhost', type: 'chat', id: 'ns' }, xml('body', {}, 'x'), xml('no-store', { xmlns: 'urn:xmpp:hints' })));
    await sender.waitFor(isBounce('ns'), 5000, 'bounce of the no-store message');
    assert.equal(await storedCount(server), 3);
    // Empty the queue for the next test: busy comes online and gets the three.
    const busy = await server.connectClient(t, 'busy');
    await busy.send(xml('presence'));
    for (let i = 1; i <= 3; i++) await busy.waitFor(match.message('sender@localhost', `m${i}`));
    await busy.close();
    await eventually(() => storedCount(server), 0, 'delivered messages deleted once acknowledged or the stream closed');
  });

  it('waits for a non-negative priority before delivering', async (t) => {
    await server.adduser('shy');
    const sender = await server.connectClient(t, 'sender2');
    await sender.send(chat('shy@localhost', 'for later'));
    await sleep(200);
    const shy = await server.connectClient(t, 'shy');
    await shy.send(xml('presence', {}, xml('priority', {}, '-1')));
    await shy.expectNone(match.message(), 500, 'delivery to a negative priority');
    assert.equal(await storedCount(server), 1);
    await shy.send(xml('presence', {}, xml('priority', {}, '5')));
    const m = await shy.waitFor(match.message('sender2@localhost', 'for later'));
    assert.ok(m.getChild('delay', NS_DELAY));
    await shy.close();
    await eventually(() => storedCount(server), 0, 'delivered messages deleted once acknowledged or the stream closed');
  });
});

describe('XEP-0160 offline messages: a second client implementation', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: ['offline'] });
  });
  after(() => server.stop());

  it('slixmpp receives what @xmpp/client sent while it was offline, stamped', { skip: slixmppUnavailable() }, async (t) => {
    const password = await server.adduser('nurse');
    const sender = await server.connectClient(t, 'friar');
    await sender.send(chat('nurse@localhost', 'read this later & soon'));
    await sleep(200);
    const slix = await connectSlix(t, { jid: 'nurse@localhost', password, port: server.ports.c2s_starttls });
    await slix.sendPresence();
    const m = await slix.waitForStanza({ name: 'message', from: 'friar@localhost', body: 'read this later & soon' });
    assert.match(m.xml, /<delay [^>]*xmlns="urn:xmpp:delay"/);
    assert.match(m.xml, /from="localhost"/);
    await eventually(() => storedCount(server), 0, 'delivered messages deleted once acknowledged');
  });
});

describe('XEP-0160 offline messages: max_age', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { offline: { max_age: '2s' } } });
  });
  after(() => server.stop());

  it('purges messages older than max_age; they are never delivered', async (t) => {
    await server.adduser('away');
    const sender = await server.connectClient(t, 'sender');
    await sender.send(chat('away@localhost', 'stale soon'));
    await sleep(300);
    assert.equal(await storedCount(server), 1);
    // max_age 2s: the purge runs every second, so within ~3.5s the message is gone.
    const deadline = Date.now() + 6000;
    while ((await storedCount(server)) !== 0 && Date.now() < deadline) await sleep(250);
    assert.equal(await storedCount(server), 0, 'purged from storage');
    const away = await server.connectClient(t, 'away');
    await away.send(xml('presence'));
    await away.expectNone(match.message(), 700, 'an expired message');
  });
});
