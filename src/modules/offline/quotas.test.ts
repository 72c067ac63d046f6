// Offline storage quotas end to end (issue 7 C): per account in messages and bytes (XEP-0160 §2
// step 3: <service-unavailable/>), and one sender's share of another account's queue
// (RFC 6120 §8.3.3.18 <resource-constraint/>, type wait). Each limit is hit while two other
// users keep chatting; nothing over a limit is dropped silently. A real server process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { eventually } from '../../../test/harness/eventually.ts';
import { offlineTotal } from '../../../test/harness/store.ts';
import { match, xml, type Element, type TestClient } from '../../../test/harness/client.ts';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const chat = (to: string, body: string, id: string) => xml('message', { to, type: 'chat', id }, xml('body', {}, body));

/**
 * Offline messages the server holds, for all its accounts, counted through the store API (the
 * tests keep the queue empty between tests).
 */
function storedCount(server: TestServer): Promise<number> {
  return offlineTotal(server);
}

describe('offline storage quotas', () => {
  let server: TestServer;
  let alice: TestClient;
  let bob: TestClient;
  const TARGET = 'target@localhost';
  let round = 0;

  before(async () => {
    server = await startServer({
      modules: { offline: { max_messages: 6, max_bytes: '4KiB', max_messages_per_sender: 2, max_bytes_per_sender: '2KiB' } },
    });
    await server.adduser('target');
    alice = await server.connectClient(undefined, 'alice');
    bob = await server.connectClient(undefined, 'bob');
    await alice.send(xml('presence'));
    await bob.send(xml('presence'));
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await server.stop();
  });

  /** alice and bob, online, exchange a message both ways: they are not held up by anyone's quota. */
  async function othersKeepChatting(): Promise<void> {
    const n = ++round;
    const started = Date.now();
    await alice.send(chat(bob.jid.toString(), `ping ${n}`, `ping${n}`));
    await bob.waitFor(match.message('alice@localhost', `ping ${n}`), 2000);
    await bob.send(chat(alice.jid.toString(), `pong ${n}`, `pong${n}`));
    await alice.waitFor(match.message('bob@localhost', `pong ${n}`), 2000);
    assert.ok(Date.now() - started < 1000);
  }

  /** Sends to the offline target; resolves with the error condition and type, or 'stored'. */
  async function offer(sender: TestClient, body: string, id: string): Promise<string> {
    const before = await storedCount(server);
    await sender.send(chat(TARGET, body, id));
    const bounce = sender.waitFor((e: Element) => e.is('message') && e.attrs['type'] === 'error' && e.attrs['id'] === id, 3000)
      .then((e) => {
        const error = e.getChild('error');
        const condition = error?.children.find((c): c is Element => typeof c !== 'string' && c.attrs['xmlns'] === NS_STANZAS && c.name !== 'text');
        return `${condition?.name ?? '?'}/${String(error?.attrs['type'])}`;
      });
    const stored = (async () => {
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        if ((await storedCount(server)) > before) return 'stored';
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('neither stored nor bounced');
    })();
    return Promise.any([bounce, stored]);
  }

  it('one sender gets resource-constraint past its share of messages; others still get through', async (t) => {
    const s1 = await server.connectClient(t, 'sender1');
    assert.equal(await offer(s1, 'a', 's1-1'), 'stored');
    assert.equal(await offer(s1, 'b', 's1-2'), 'stored');
    assert.equal(await offer(s1, 'c', 's1-3'), 'resource-constraint/wait');
    await othersKeepChatting();
    const s2 = await server.connectClient(t, 'sender2');
    assert.equal(await offer(s2, 'd', 's2-1'), 'stored');
    assert.equal(await storedCount(server), 3);
  });

  it('one sender gets resource-constraint past its share of bytes', async (t) => {
    const s3 = await server.connectClient(t, 'sender3');
    assert.equal(await offer(s3, 'x'.repeat(2500), 's3-1'), 'resource-constraint/wait');
    await othersKeepChatting();
    assert.equal(await storedCount(server), 3);
  });

  it('the account gets service-unavailable past its total of bytes', async (t) => {
    const s4 = await server.connectClient(t, 'sender4');
    assert.equal(await offer(s4, 'y'.repeat(1700), 's4-1'), 'stored');
    const s5 = await server.connectClient(t, 'sender5');
    assert.equal(await offer(s5, 'z'.repeat(1700), 's5-1'), 'service-unavailable/cancel');
    await othersKeepChatting();
    assert.equal(await storedCount(server), 4);
  });

  it('the account gets service-unavailable past its number of messages', async (t) => {
    const s6 = await server.connectClient(t, 'sender6');
    assert.equal(await offer(s6, 'e', 's6-1'), 'stored');
    assert.equal(await offer(s6, 'f', 's6-2'), 'stored');
    const s7 = await server.connectClient(t, 'sender7');
    assert.equal(await offer(s7, 'g', 's7-1'), 'service-unavailable/cancel');
    await othersKeepChatting();
    assert.equal(await storedCount(server), 6);
  });

  it('delivers exactly what was stored, in order; then the shares are free again', async (t) => {
    const target = await server.connectClient(t, 'target');
    await target.send(xml('presence'));
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push((await target.waitFor(match.message(), 5000, `stored message ${i + 1}`)).getChildText('body') ?? '');
    assert.deepEqual(got.map((b) => (b.length > 10 ? `${b[0] ?? ''}×${b.length}` : b)), ['a', 'b', 'd', 'y×1700', 'e', 'f']);
    await target.expectNone(match.message(), 300, 'a message over a quota');
    await target.close();
    await eventually(() => storedCount(server), 0, 'delivered messages deleted once acknowledged or the stream closed');
    const s1 = await server.connectClient(t, 'sender1');
    assert.equal(await offer(s1, 'again', 's1-4'), 'stored');
  });
});
