// Issue 7 §2: every limit on a connection, each hit by a test that changes that limit only (or
// none, where the default is small enough to reach), while the rest of the server keeps working.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { startServer, type TestServer } from './harness/server.ts';
import { connectSecured, NS, RawConnection, rawLogin, streamHeader, type RawSession } from './harness/raw.ts';
import { match, xml } from './harness/client.ts';

async function login(server: TestServer, user: string, resource?: string): Promise<RawSession> {
  const password = server.passwords.get(`${user}@${server.domain}`) ?? (await server.adduser(user));
  return rawLogin({ port: server.ports.c2s_starttls, username: user, password, ...(resource ? { resource } : {}) });
}

/** Opens a plain connection to the STARTTLS port and sends the stream header. */
async function openPlain(server: TestServer): Promise<RawConnection> {
  const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
  await conn.send(streamHeader(server.domain));
  return conn;
}

describe('limits at their defaults', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop({ remove: true }));

  it('limits.preauth_max_stanza_size: a 20 KB element before authentication ends the stream; after it, 20 KB is fine', async (t) => {
    const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
    await conn.send(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${'A'.repeat(20_000)}</auth>`);
    await conn.readUntil(/<policy-violation/);
    await conn.closed;
    const alice = await server.connectClient(t, 'alice');
    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('presence'));
    const big = 'b'.repeat(20_000);
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, big)));
    await bob.waitFor(match.message('alice@localhost', big));
  });

  it('limits.max_output_buffer: what a client that does not read cannot take is stored offline or bounced, never lost', async (t) => {
    const sender = await server.connectClient(t, 'sender');
    const receiver = await login(server, 'receiver', 'slow');
    await receiver.conn.send('<presence/>');
    await receiver.conn.readUntil('<presence');
    receiver.conn.socket.pause();
    const n = 400;
    const body = (i: number): string => `m${String(i).padStart(4, '0')} ${'z'.repeat(16 * 1024)}`;
    for (let i = 0; i < n; i++) await sender.send(xml('message', { to: receiver.jid ?? '', type: 'chat', id: `m${String(i)}` }, xml('body', {}, body(i))));
    // Barrier: a ping answered after the last message means all of them have been routed.
    await sender.iqCaller.get(xml('ping', 'urn:xmpp:ping'), 'localhost');
    const bounced = new Set(sender.received.filter((e) => e.is('message') && e.attrs['type'] === 'error').map((e) => e.attrs['id']));
    // The receiver reads what was written to it, then ends its stream; the rest waits offline.
    receiver.conn.socket.resume();
    await receiver.conn.send('</stream:stream>');
    await receiver.conn.readUntil('</stream:stream>', 30_000);
    const live = new Set([...receiver.conn.text.matchAll(/<body>m(\d{4}) /g)].map((m) => `m${String(Number(m[1]))}`));
    receiver.conn.destroy();
    // What was stored comes at the next logins (a delivery stops where the session takes no more,
    // and the rest waits for the next one); it never comes twice.
    const stored = new Set<string>();
    for (let login = 0; login < 5; login++) {
      const again = await server.connectClient(t, 'receiver');
      await again.send(xml('presence'));
      await again.iqCaller.get(xml('ping', 'urn:xmpp:ping'), 'localhost');
      const got = again.received.filter((e) => e.is('message') && e.getChild('body')).map((e) => `m${String(Number(/^m(\d{4})/.exec(e.getChildText('body') ?? '')?.[1]))}`);
      await again.close();
      if (got.length === 0) break;
      for (const id of got) stored.add(id);
    }
    t.diagnostic(`${String(live.size)} read live, ${String(stored.size)} stored offline, ${String(bounced.size)} bounced of ${String(n)}`);
    assert.ok(live.size < n, 'the server did not buffer everything for the client that did not read');
    for (let i = 0; i < n; i++) {
      const id = `m${String(i)}`;
      assert.ok(live.has(id) || stored.has(id) || bounced.has(id), `${id} was delivered, stored or bounced`);
    }
  });
});

describe('limits changed one at a time', () => {
  it('limits.tls_timeout: a connection that never gets to TLS is closed with <connection-timeout/>', async () => {
    const server = await startServer({ config: { limits: { tls_timeout: '1s' } } });
    try {
      const conn = await openPlain(server);
      await conn.readUntil(/<connection-timeout/, 5000);
      await conn.closed;
      // Direct TLS: a TCP connection that never starts the handshake is cut as well.
      const started = Date.now();
      const raw = netConnect({ host: '127.0.0.1', port: server.ports.c2s_direct_tls });
      await new Promise((r) => raw.once('close', r));
      assert.ok(Date.now() - started < 5000);
    } finally {
      await server.stop({ remove: true });
    }
  });

  it('limits.output_stall_timeout: a client whose output stays backed up is closed; others go on', async (t) => {
    const server = await startServer({ config: { limits: { output_stall_timeout: '1s' } } });
    t.after(() => server.stop({ remove: true }));
    const alice = await server.connectClient(t, 'alice');
    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('presence'));
    const stalled = await login(server, 'stalled');
    stalled.conn.socket.pause();
    const socket = stalled.conn.socket;
    for (let i = 0; i < 100_000 && !stalled.conn.isClosed; i++) {
      if (!socket.write(`<iq type='get' id='p${String(i)}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)) {
        await new Promise((r) => setTimeout(r, 50));
        if (socket.writableLength > 8 << 20) break;
      }
    }
    await stalled.conn.closed;
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'still here')));
    await bob.waitFor(match.message('alice@localhost', 'still here'));
  });

  it('limits.max_unauthenticated: past the server-wide cap a new connection gets <resource-constraint/>', async () => {
    const server = await startServer({ config: { limits: { max_unauthenticated: 3 } } });
    try {
      const held = await Promise.all([openPlain(server), openPlain(server), openPlain(server)]);
      for (const c of held) await c.readUntil('</stream:features>');
      const extra = await openPlain(server);
      await extra.readUntil(/<resource-constraint/);
      for (const c of [...held, extra]) c.destroy();
    } finally {
      await server.stop({ remove: true });
    }
  });

  it('limits.connection_burst_per_address: connections past the burst get <policy-violation/>', async () => {
    const server = await startServer({ config: { limits: { connection_burst_per_address: 3, connection_rate_per_address: 1 } } });
    try {
      const ok = [await openPlain(server), await openPlain(server), await openPlain(server)];
      for (const c of ok) await c.readUntil('</stream:features>');
      const extra = await openPlain(server);
      await extra.readUntil(/<policy-violation/);
      for (const c of [...ok, extra]) c.destroy();
    } finally {
      await server.stop({ remove: true });
    }
  });
});
