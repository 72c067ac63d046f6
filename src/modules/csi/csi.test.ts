// XEP-0352 Client State Indication end to end, over real sockets against the real server process
// (@xmpp/client sends the nonzas as raw XML): presence and chat states are held while inactive,
// the latest per sender wins, and anything important (or <active/>) releases them first, in order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { match, xml, type Element, type TestClient } from '../../../test/harness/client.ts';

const NS = 'urn:xmpp:csi:0';
const NS_CS = 'http://jabber.org/protocol/chatstates';

const status = (text: string, to: string) => xml('presence', { to }, xml('status', {}, text));
const presenceWith = (text: string) => (e: Element): boolean => e.is('presence') && e.getChildText('status') === text;
const indexOf = (c: TestClient, pred: (e: Element) => boolean): number => c.received.findIndex(pred);

describe('XEP-0352 Client State Indication', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  it('offers <csi/> after authentication; an unknown nonza is still a stream error', async (t) => {
    const c = await server.connectClient(t, 'probe');
    const features = c.received.findLast((e) => e.name === 'stream:features');
    assert.ok(features?.getChild('csi', NS), 'csi stream feature');
    await c.send(xml('shout', { xmlns: 'urn:example:nonza' }));
    await c.waitFor(match.streamError('unsupported-stanza-type'), 5000);
  });

  it('CSI holds presence and releases a message at once', async (t) => {
    const phone = await server.connectClient(t, 'juliet', { resource: 'phone' });
    await phone.send(xml('presence'));
    const romeo = await server.connectClient(t, 'romeo');
    const to = String(phone.jid);
    await phone.send(xml('inactive', { xmlns: NS }));
    await phone.ping(); // the server has read <inactive/> (in order, §4.1)
    // Directed presence to the phone: held, and only the latest of the sender's full JID is kept.
    for (const s of ['one', 'two', 'three']) await romeo.send(status(s, to));
    await romeo.send(xml('message', { to: 'juliet@localhost', type: 'chat', id: 'cs' }, xml('composing', { xmlns: NS_CS })));
    await romeo.ping();
    // A message with a body: everything held goes first, in order, then the message, at once.
    await romeo.send(xml('message', { to, type: 'chat', id: 'm1' }, xml('body', {}, 'wake up')));
    await phone.waitFor(match.message('romeo@localhost', 'wake up'), 5000);
    const p = indexOf(phone, presenceWith('three'));
    const cs = indexOf(phone, (e) => e.is('message') && e.attrs['id'] === 'cs');
    const m = indexOf(phone, (e) => e.is('message') && e.attrs['id'] === 'm1');
    assert.ok(p >= 0 && cs > p && m > cs, `held presence, then the chat state, then the message (${p}, ${cs}, ${m})`);
    await phone.expectNone(presenceWith('one'), 300, 'a replaced presence');
    await phone.expectNone(presenceWith('two'), 300, 'a replaced presence');
    // Still inactive: the next presence is held again until <active/>.
    await romeo.send(status('four', to));
    await romeo.ping();
    await phone.send(xml('active', { xmlns: NS }));
    await phone.waitFor(presenceWith('four'), 5000);
  });

  it('an IQ to the inactive client releases what is held, before it', async (t) => {
    const phone = await server.connectClient(t, 'nurse', { resource: 'phone' });
    await phone.send(xml('presence'));
    const friar = await server.connectClient(t, 'friar');
    await phone.send(xml('inactive', { xmlns: NS }));
    await phone.ping(); // the server has read <inactive/> (in order, §4.1)
    await friar.send(status('held', String(phone.jid)));
    await friar.ping(); // routed (and held) before the phone's own ping below
    // The client's own ping: the server's answer is an IQ, so the held presence goes out before it.
    await phone.ping();
    const p = indexOf(phone, presenceWith('held'));
    const pong = phone.received.findLastIndex((e) => e.is('iq') && e.attrs['type'] === 'result' && e.attrs['from'] === 'localhost');
    assert.ok(p >= 0 && p < pong, `the held presence arrives before the pong (${p}, ${pong})`);
  });
});

describe('XEP-0352: max_held', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { csi: { max_held: 3 }, roster: {} } });
  });
  after(() => server.stop());

  it('held presence is bounded: past max_held everything held is sent, latest per sender', async (t) => {
    const phone = await server.connectClient(t, 'paris', { resource: 'phone' });
    await phone.send(xml('presence'));
    const to = String(phone.jid);
    const senders = await Promise.all(['s1', 's2', 's3', 's4'].map((u) => server.connectClient(t, u)));
    await phone.send(xml('inactive', { xmlns: NS }));
    await phone.ping(); // the server has read <inactive/> (in order, §4.1)
    const [s1, s2, s3, s4] = senders as [TestClient, TestClient, TestClient, TestClient];
    await s1.send(status('s1-old', to));
    await s1.send(status('s1-new', to));
    await s1.ping();
    await s2.send(status('s2', to));
    await s2.ping();
    await s3.send(status('s3', to));
    await s3.ping();
    // Three held (s1's latest, s2, s3); the fourth sender is one too many: all four go out.
    await s4.send(status('s4', to));
    await phone.waitFor(presenceWith('s4'), 5000, 'the flush past max_held');
    const order = ['s1-new', 's2', 's3', 's4'].map((s) => indexOf(phone, presenceWith(s)));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > (order[k - 1] ?? -1))), `in order: ${order.join(',')}`);
    await phone.expectNone(presenceWith('s1-old'), 300, 'the replaced presence');
  });
});
