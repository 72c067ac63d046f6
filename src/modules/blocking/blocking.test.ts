// XEP-0191 Blocking Command end to end: a real server process and @xmpp/client over TLS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { match, xml, type Element, type TestClient } from '../../../test/harness/client.ts';

const NS = 'urn:xmpp:blocking';
const NS_ERRORS = 'urn:xmpp:blocking:errors';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function condition(e: unknown): string {
  return (e as { condition?: string }).condition ?? String(e);
}

const items = (jids: string[]) => jids.map((jid) => xml('item', { jid }));
const isPush = (name: 'block' | 'unblock') => (e: Element) => e.is('iq') && e.attrs['type'] === 'set' && e.getChild(name, NS) !== undefined;
const errorOf = (e: Element) => e.getChild('error');

async function online(server: TestServer, t: Parameters<TestServer['connectClient']>[0], who: string, resource?: string): Promise<TestClient> {
  const c = await server.connectClient(t, who, resource ? { resource } : {});
  await c.send(xml('presence'));
  return c;
}

describe('XEP-0191 Blocking Command', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: ['disco', 'blocking', 'offline'] });
  });
  after(() => server.stop());

  it('§3.1: advertises urn:xmpp:blocking on the server', async (t) => {
    const c = await server.connectClient(t, 'disco');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), server.domain);
    assert.ok(info.getChildren('feature').some((f: Element) => f.attrs['var'] === NS));
  });

  it('blocks a contact both ways, pushes to interested resources, and unblocking restores', async (t) => {
    const romeo1 = await online(server, t, 'romeo', 'one');
    const romeo2 = await online(server, t, 'romeo', 'two');
    const romeo3 = await online(server, t, 'romeo', 'three'); // never asks for the list: no pushes
    const juliet = await online(server, t, 'juliet');
    const R = 'romeo@localhost';
    const J = 'juliet@localhost';

    assert.equal((await romeo1.iqGet(xml('blocklist', { xmlns: NS }))).children.length, 0);
    await romeo2.iqGet(xml('blocklist', { xmlns: NS }));

    // Before the block, messages flow.
    await juliet.send(xml('message', { to: `${R}/one`, type: 'chat' }, xml('body', {}, 'before')));
    await romeo1.waitFor(match.message(J, 'before'));

    await romeo1.iqSet(xml('block', { xmlns: NS }, ...items([J])));
    for (const r of [romeo1, romeo2]) {
      const push = await r.waitFor(isPush('block'), 5000, 'block push');
      assert.deepEqual(push.getChild('block', NS)?.getChildren('item').map((i: Element) => i.attrs['jid']), [J]);
    }
    await romeo3.expectNone(isPush('block'), 300, 'no push to a resource that never asked for the list');

    // §3.3: the contact sees each available resource go offline.
    for (const res of ['one', 'two', 'three']) await juliet.waitFor(match.presence(`${R}/${res}`, 'unavailable'), 5000, `unavailable from ${res}`);

    const list = await romeo2.iqGet(xml('blocklist', { xmlns: NS }));
    assert.deepEqual(list.getChildren('item').map((i: Element) => i.attrs['jid']), [J]);

    // Inbound: the contact's message bounces with service-unavailable and never reaches romeo.
    await juliet.send(xml('message', { to: R, type: 'chat', id: 'm1' }, xml('body', {}, 'are you there?')));
    const bounced = await juliet.waitFor((e) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id'] === 'm1', 5000, 'bounce');
    assert.ok(errorOf(bounced)?.getChild('service-unavailable', NS_STANZAS));
    // IQ get/set: service-unavailable too, and the client never sees it.
    await assert.rejects(juliet.iqGet(xml('ping', { xmlns: 'urn:xmpp:ping' }), `${R}/one`), (e) => condition(e) === 'service-unavailable');
    // Presence: silently dropped.
    await juliet.send(xml('presence', { to: R, type: 'subscribe' }));
    for (const r of [romeo1, romeo2, romeo3]) await r.expectNone((e) => String(e.attrs['from']).startsWith(J), 300, 'anything from juliet');

    // Outbound: refused with not-acceptable + <blocked/>, and juliet gets nothing.
    await romeo1.send(xml('message', { to: J, type: 'chat', id: 'm2' }, xml('body', {}, 'hello?')));
    const refused = await romeo1.waitFor((e) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id'] === 'm2', 5000, 'blocked error');
    assert.ok(errorOf(refused)?.getChild('not-acceptable', NS_STANZAS));
    assert.ok(errorOf(refused)?.getChild('blocked', NS_ERRORS));
    await assert.rejects(romeo1.iqGet(xml('ping', { xmlns: 'urn:xmpp:ping' }), `${J}/whatever`), (e) => condition(e) === 'not-acceptable');
    await juliet.expectNone(match.message(R), 300, 'a message from romeo');

    // §3.4: unblock restores delivery, with pushes.
    await romeo2.iqSet(xml('unblock', { xmlns: NS }, ...items([J])));
    for (const r of [romeo1, romeo2]) {
      const push = await r.waitFor(isPush('unblock'), 5000, 'unblock push');
      assert.equal(push.getChild('unblock', NS)?.getChild('item')?.attrs['jid'], J);
    }
    await juliet.send(xml('message', { to: `${R}/one`, type: 'chat' }, xml('body', {}, 'after')));
    await romeo1.waitFor(match.message(J, 'after'));
    await romeo1.send(xml('message', { to: J, type: 'chat' }, xml('body', {}, 'hi again')));
    await juliet.waitFor(match.message(R, 'hi again'));
  });

  it('§3.5: an empty unblock clears the list; domain items cover the whole domain', async (t) => {
    const c = await online(server, t, 'tybalt');
    await server.adduser('mercutio');
    await c.iqGet(xml('blocklist', { xmlns: NS }));
    await c.iqSet(xml('block', { xmlns: NS }, ...items(['localhost/bot', 'example.org', 'Mercutio@LOCALHOST'])));
    await c.waitFor(isPush('block'));
    const list = await c.iqGet(xml('blocklist', { xmlns: NS }));
    assert.deepEqual(list.getChildren('item').map((i: Element) => i.attrs['jid']).sort(), ['example.org', 'localhost/bot', 'mercutio@localhost']);
    // A domain item covers its subdomains (here: an address on a remote domain is refused as blocked before any routing).
    await c.send(xml('message', { to: 'someone@chat.example.org', id: 'd1' }, xml('body', {}, 'x')));
    const refused = await c.waitFor((e) => e.is('message') && e.attrs['id'] === 'd1');
    assert.ok(errorOf(refused)?.getChild('blocked', NS_ERRORS));

    await c.iqSet(xml('unblock', { xmlns: NS }));
    const push = await c.waitFor(isPush('unblock'));
    assert.equal(push.getChild('unblock', NS)?.children.length, 0);
    assert.equal((await c.iqGet(xml('blocklist', { xmlns: NS }))).children.length, 0);
  });

  it('rejects malformed requests and other accounts\' lists', async (t) => {
    const c = await server.connectClient(t, 'iago');
    await server.adduser('othello');
    await assert.rejects(c.iqSet(xml('block', { xmlns: NS })), (e) => condition(e) === 'bad-request');
    await assert.rejects(c.iqSet(xml('block', { xmlns: NS }, xml('item', {}))), (e) => condition(e) === 'bad-request');
    await assert.rejects(c.iqSet(xml('block', { xmlns: NS }, ...items(['@bad@']))), (e) => condition(e) === 'jid-malformed');
    await assert.rejects(c.iqGet(xml('blocklist', { xmlns: NS }), 'othello@localhost'), (e) => condition(e) === 'forbidden');
    await assert.rejects(c.iqSet(xml('block', { xmlns: NS }, ...items(['iago@localhost'])), 'othello@localhost'), (e) => condition(e) === 'forbidden');
  });

  it('keeps the block across sessions; a blocked contact\'s message is not kept offline either', async (t) => {
    const a = await server.connectClient(t, 'capulet');
    await a.iqSet(xml('block', { xmlns: NS }, ...items(['montague@localhost'])));
    await a.close();
    const m = await online(server, t, 'montague');
    await m.send(xml('message', { to: 'capulet@localhost', type: 'chat', id: 'x0' }, xml('body', {}, 'while you were out')));
    await m.waitFor((e) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id'] === 'x0', 5000, 'bounce while offline');
    const a2 = await online(server, t, 'capulet');
    await m.send(xml('message', { to: 'capulet@localhost', type: 'chat', id: 'x1' }, xml('body', {}, 'peace?')));
    await m.waitFor((e) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id'] === 'x1', 5000, 'bounce while online');
    await a2.expectNone(match.message('montague@localhost'), 500, 'message from a blocked contact');
  });
});

describe('XEP-0191 with the roster module: presence to a blocked contact', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: ['disco', 'roster', 'blocking'] });
  });
  after(() => server.stop());

  it('a blocked subscriber sees the user offline and gets no broadcasts until unblocked', async (t) => {
    const R = 'benvolio@localhost';
    const J = 'rosaline@localhost';
    const romeo = await server.connectClient(t, 'benvolio');
    const juliet = await server.connectClient(t, 'rosaline');
    await romeo.iqGet(xml('query', { xmlns: 'jabber:iq:roster' }));
    await juliet.iqGet(xml('query', { xmlns: 'jabber:iq:roster' }));
    await romeo.send(xml('presence'));
    await juliet.send(xml('presence'));
    // Mutual subscription (RFC 6121 §3).
    await juliet.send(xml('presence', { to: R, type: 'subscribe' }));
    await romeo.waitFor(match.presence(J, 'subscribe'));
    await romeo.send(xml('presence', { to: J, type: 'subscribed' }));
    await romeo.send(xml('presence', { to: J, type: 'subscribe' }));
    await juliet.waitFor(match.presence(R, 'subscribe'));
    await juliet.send(xml('presence', { to: R, type: 'subscribed' }));
    await romeo.send(xml('presence', {}, xml('status', {}, 'here')));
    await juliet.waitFor((e) => match.presence(R)(e) && e.getChildText('status') === 'here', 5000, 'romeo online');

    await romeo.iqSet(xml('block', { xmlns: NS }, ...items([J])));
    await juliet.waitFor(match.presence(R, 'unavailable'), 5000, 'unavailable on block');
    juliet.clear();
    romeo.clear();
    // A presence update is broadcast to subscribers, but not to the blocked one.
    await romeo.send(xml('presence', {}, xml('status', {}, 'still here')));
    await juliet.expectNone(match.presence(R), 500, 'a broadcast from the blocker');
    // And the blocked contact's own broadcasts don't reach the blocker.
    await juliet.send(xml('presence', {}, xml('status', {}, 'hello?')));
    await romeo.expectNone(match.presence(J), 500, 'a broadcast from the blocked contact');

    await romeo.iqSet(xml('unblock', { xmlns: NS }, ...items([J])));
    await romeo.send(xml('presence', {}, xml('status', {}, 'back')));
    await juliet.waitFor((e) => match.presence(R)(e) && e.getChildText('status') === 'back', 5000, 'broadcast after unblock');
  });
});
