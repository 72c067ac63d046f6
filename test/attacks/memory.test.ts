// Issue 7 §2: memory is bounded whatever a client does. Each attack runs against a server with
// production limits while two other users chat; the server's RSS must stay within a stated
// bound over its level before the attack, and every round trip of the chatting users completes.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectSecured, NS, RawConnection, streamHeader } from '../harness/raw.ts';
import { countInput, MB, rawUser, sampleRss, startChatter, stopReading } from './kit.ts';

/**
 * The bound on RSS growth during one attack: tens of MB, where the unbounded server took hundreds
 * to thousands. Most of what remains is garbage V8 has not collected yet (a heap snapshot, which
 * collects first, finds none of the attack's data retained).
 */
const MAX_GROWTH = 64 * MB;

/**
 * Writes `piece(n)` until `total` bytes went out, it returns '' (done), the server closed, or the deadline passed, honouring
 * backpressure: what the server does not read stays in the attacker's buffers, as on a real network.
 */
async function flood(conn: RawConnection, total: number, piece: (n: number) => string, deadlineMs: number): Promise<number> {
  const socket = conn.socket;
  const end = Date.now() + deadlineMs;
  let sent = 0;
  for (let n = 0; sent < total && !conn.isClosed && !socket.destroyed && Date.now() < end; n++) {
    const p = piece(n);
    if (p === '') break;
    sent += p.length;
    if (!socket.write(p)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, end - Date.now()));
        function done(): void {
          clearTimeout(timer);
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        }
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
  }
  return sent;
}

describe('attacks: memory stays bounded and other users keep chatting (issue 7)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop({ remove: true }));

  async function underAttack(t: TestContext, names: [string, string], attack: () => Promise<void>): Promise<void> {
    const chat = await startChatter(t, server, names);
    await new Promise((r) => setTimeout(r, 300));
    const rss = sampleRss(server);
    const baseline = rss.peak();
    const roundsBefore = chat.rounds;
    try {
      await attack();
      // The server keeps working through what it took in; memory is watched meanwhile.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      rss.stop();
      await chat.stop();
    }
    const peak = rss.peak();
    t.diagnostic(`RSS ${(baseline / MB).toFixed(1)} MB -> peak ${(peak / MB).toFixed(1)} MB; ${String(chat.rounds - roundsBefore)} chat round trips during the attack, slowest ${String(chat.worstMs)} ms`);
    assert.ok(peak - baseline < MAX_GROWTH, `RSS grew by ${((peak - baseline) / MB).toFixed(1)} MB (bound ${String(MAX_GROWTH / MB)} MB)`);
    assert.ok(chat.rounds > roundsBefore, 'the other users kept chatting');
    assert.ok(chat.worstMs < 5000, `slowest round trip ${String(chat.worstMs)} ms`);
  }

  it('one client pipelining 50 MB before and during authentication', async (t) => {
    await underAttack(t, ['a1', 'b1'], async () => {
      // Before TLS: stanzas pipelined after the header.
      const plain = await RawConnection.connect({ port: server.ports.c2s_starttls });
      plain.socket.write(streamHeader('localhost'));
      const preTls = flood(plain, 50 * MB, () => '<presence/>'.repeat(1000), 8000);
      // After TLS, before authentication: SASL elements pipelined without reading one answer.
      const { conn: sasl } = await connectSecured({ port: server.ports.c2s_starttls });
      sasl.socket.pause();
      const duringAuth = flood(sasl, 50 * MB, () => `<auth xmlns='${NS.SASL}' mechanism='X-NOT-A-MECHANISM'/>`.repeat(500), 8000);
      // One endless element before authentication.
      const { conn: big } = await connectSecured({ port: server.ports.c2s_starttls });
      const oneElement = flood(big, 50 * MB, (n) => (n === 0 ? `<auth xmlns='${NS.SASL}' mechanism='PLAIN'>` : 'A'.repeat(64 * 1024)), 8000);
      const [a, b, c] = await Promise.all([preTls, duringAuth, oneElement]);
      t.diagnostic(`accepted by the network before TLS ${(a / MB).toFixed(1)} MB, during SASL ${(b / MB).toFixed(1)} MB, one element ${(c / MB).toFixed(1)} MB`);
      assert.match(plain.text, /<not-authorized/);
      assert.match(big.text, /<policy-violation/);
      for (const conn of [plain, sasl, big]) conn.destroy();
    });
  });

  it('a client that never reads, sending 200,000 pings', async (t) => {
    await underAttack(t, ['a2', 'b2'], async () => {
      const pinger = await rawUser(server, 'pinger');
      stopReading(pinger);
      const sent = await flood(pinger.conn, Infinity, (n) => `<iq type='get' id='p${String(n)}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`, 10_000);
      t.diagnostic(`the network took ${(sent / MB).toFixed(1)} MB of pings`);
      pinger.conn.destroy();
    });
  });

  it('a receiver that never reads while a sender sends it 64 MB', async (t) => {
    await underAttack(t, ['a3', 'b3'], async () => {
      const receiver = await rawUser(server, 'sink');
      await receiver.conn.send('<presence/>');
      await receiver.conn.readUntil('<presence');
      stopReading(receiver);
      const sender = await rawUser(server, 'firehose');
      const answers = countInput(sender);
      const body = 'x'.repeat(64 * 1024);
      const sent = await flood(sender.conn, 64 * MB, (n) => `<message type='chat' id='m${String(n)}' to='${receiver.jid ?? ''}'><body>${body}</body></message>`, 30_000);
      t.diagnostic(`sent ${(sent / MB).toFixed(1)} MB; the sender read ${(answers.bytes / MB).toFixed(1)} MB of answers`);
      assert.ok(sent >= 64 * MB, 'the sender was never stalled: what the receiver cannot take is stored or bounced');
      receiver.conn.destroy();
      sender.conn.destroy();
    });
  });

  it('a 60 KiB vCard read 10,000 times by a client that does not read', async (t) => {
    await underAttack(t, ['a4', 'b4'], async () => {
      const reader = await rawUser(server, 'vcardreader');
      const photo = Buffer.alloc(45 * 1024, 7).toString('base64');
      await reader.conn.send(`<iq type='set' id='v0'><vCard xmlns='vcard-temp'><FN>Big</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>${photo}</BINVAL></PHOTO></vCard></iq>`);
      await reader.conn.readUntil(/<iq[^>]*id=["']v0["'][^>]*>/);
      stopReading(reader);
      const sent = await flood(reader.conn, Infinity, (n) => (n < 10_000 ? `<iq type='get' id='g${String(n)}' to='${reader.jid?.split('/')[0] ?? ''}'><vCard xmlns='vcard-temp'/></iq>` : ''), 10_000);
      t.diagnostic(`the network took ${(sent / 1024).toFixed(0)} KiB of vCard requests`);
      reader.conn.destroy();
    });
  });

  // Last: it spends this address's connection budget for a few seconds.
  it('1,000 unauthenticated connections from one address', async (t) => {
    await underAttack(t, ['a5', 'b5'], async () => {
      const sockets: Socket[] = [];
      const texts: string[] = [];
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          new Promise<void>((resolve) => {
            const s = netConnect({ host: '127.0.0.1', port: server.ports.c2s_starttls });
            sockets.push(s);
            texts[i] = '';
            s.setEncoding('utf8');
            s.on('data', (d: string) => {
              texts[i] += d;
              if (/<\/stream:features>|<\/stream:stream>/.test(texts[i] ?? '')) resolve();
            });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            s.on('connect', () => s.write(streamHeader('localhost')));
            setTimeout(resolve, 10_000).unref();
          }),
        ),
      );
      const admitted = texts.filter((x) => x.includes('<starttls')).length;
      const refused = texts.filter((x) => x.includes('<policy-violation')).length;
      t.diagnostic(`${String(admitted)} of 1000 connections admitted, ${String(refused)} refused with <policy-violation/>`);
      assert.ok(admitted <= 20, `${String(admitted)} unauthenticated connections held from one address (cap 20)`);
      assert.equal(admitted + refused, 1000, 'every connection got an answer: a stream or a stream error');
      for (const s of sockets) s.destroy();
    });
  });
});
