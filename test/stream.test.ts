// End-to-end tests of RFC 6120 streams, TLS (§5, XEP-0368, RFC 8996), SASL (§6, RFC 5802/7677,
// RFC 5929/9266 channel binding, XEP-0440), resource binding (§7) and restricted XML (§11) against
// the real server process, driven by @xmpp/client, slixmpp and a raw socket speaker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { generate } from 'selfsigned';
import { startServer, type TestServer } from './harness/server.ts';
import { connectClient, match, xml, type TestClient } from './harness/client.ts';
import { connectSlix, slixmppUnavailable } from './harness/slixmpp.ts';
import {
  NS,
  PATTERN,
  RawConnection,
  advertisedCbTypes,
  authenticate,
  connectSecured,
  offeredMechanisms,
  rawLogin,
  streamErrorCondition,
  streamHeader,
  type CbType,
  type RawSession,
} from './harness/raw.ts';

const DOMAIN = 'localhost';
const USERS = {
  alice: 'alice-Secret-1',
  bob: 'bob-Secret-2',
  carol: 'carol-Secret-3',
  dave: 'dave-Secret-4',
  mallory: 'mallory-Secret-5',
  erin: 'erin-Secret-6',
} as const;
type User = keyof typeof USERS;
const jidOf = (u: User): string => `${u}@${DOMAIN}`;

const noSlix = slixmppUnavailable();

/** Reads the stream error the server sends, checks its condition, and that the server then closes. */
async function expectStreamError(conn: RawConnection, condition: string, timeoutMs = 5000): Promise<void> {
  let text: string;
  try {
    text = await conn.readUntil(PATTERN.streamError, timeoutMs);
  } catch (e) {
    assert.fail(`expected <${condition}/> stream error: ${(e as Error).message}`);
  }
  assert.equal(streamErrorCondition(text), condition, `stream error condition in: ${text.slice(-500)}`);
  // RFC 6120 §4.9.1.1: after the error the stream is closed and the TCP connection terminated.
  await Promise.race([
    conn.closed,
    new Promise((_, reject) => setTimeout(() => reject(new Error('server did not close the connection after the stream error')), timeoutMs)),
  ]);
}

/** The features the server offers on a fresh plain-TCP stream (before STARTTLS). */
async function plainStream(server: TestServer): Promise<{ conn: RawConnection; features: string }> {
  const conn = await RawConnection.connect({ port: server.ports.c2s_starttls, servername: server.domain });
  const features = await conn.openStream();
  return { conn, features };
}

function login(server: TestServer, user: User, extra: Partial<Parameters<typeof rawLogin>[0]> = {}): Promise<RawSession> {
  return rawLogin({ port: server.ports.c2s_starttls, servername: server.domain, username: user, password: USERS[user], ...extra });
}

function client(server: TestServer, user: User, extra: Partial<Parameters<typeof connectClient>[0]> = {}): Promise<TestClient> {
  return connectClient({ port: server.ports.c2s_starttls, domain: server.domain, username: user, password: USERS[user], ...extra });
}

/** Sends a chat message from `a` to `b`'s full JID and waits for it. */
async function roundTrip(a: TestClient, b: TestClient, body: string, timeoutMs = 5000): Promise<void> {
  await a.send(xml('message', { to: String(b.jid), type: 'chat' }, xml('body', {}, body)));
  const got = await b.waitFor(match.message(String(a.jid), body), timeoutMs, `message "${body}"`);
  assert.equal(got.attrs['from'], String(a.jid));
}

/** A throwaway TLS server that does accept TLS 1.1, proving our client side can speak it. */
async function tls11ControlServer(): Promise<TlsServer> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as never);
  const srv = createTlsServer(
    { cert: pems.cert, key: pems.private, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' },
    (s) => s.end(),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return srv;
}

const TLS11 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' } as const;

describe('JabberX c2s end to end (RFC 6120)', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ users: Object.entries(USERS).map(([u, p]) => [`${u}@${DOMAIN}`, p] as [string, string]) });
  });
  after(async () => {
    await server.stop({ remove: true });
  });

  describe('TLS (RFC 6120 §5, XEP-0368, RFC 8996)', () => {
    it('§5: @xmpp/client logs in over STARTTLS and two users chat', async () => {
      const alice = await client(server, 'alice');
      const bob = await client(server, 'bob');
      try {
        assert.equal(alice.jid.bare().toString(), jidOf('alice'));
        assert.ok(['TLSv1.2', 'TLSv1.3'].includes(alice.tlsSocket()?.getProtocol() ?? ''), 'TLS 1.2 or later');
        await roundTrip(alice, bob, 'hello over STARTTLS');
        await roundTrip(bob, alice, 'hello back');
      } finally {
        await alice.close();
        await bob.close();
      }
    });

    it('XEP-0368: @xmpp/client logs in over direct TLS and chats with a STARTTLS user', async () => {
      const alice = await client(server, 'alice', { port: server.ports.c2s_direct_tls, directTls: true });
      const bob = await client(server, 'bob');
      try {
        assert.ok(alice.tlsSocket()?.encrypted);
        await roundTrip(alice, bob, 'from direct TLS');
        await roundTrip(bob, alice, 'to direct TLS');
      } finally {
        await alice.close();
        await bob.close();
      }
    });

    it('XEP-0368: slixmpp logs in over direct TLS and chats with @xmpp/client', { skip: noSlix }, async (t) => {
      const carol = await connectSlix(t, { jid: jidOf('carol'), password: USERS.carol, port: server.ports.c2s_direct_tls, directTls: true, resource: 'slix' });
      assert.equal(carol.jid, `${jidOf('carol')}/slix`);
      const bob = await client(server, 'bob');
      t.after(() => bob.close());
      await carol.sendMessage(String(bob.jid), 'slix to xmpp.js');
      await bob.waitFor(match.message(carol.jid, 'slix to xmpp.js'));
      await bob.send(xml('message', { to: carol.jid, type: 'chat' }, xml('body', {}, 'xmpp.js to slix')));
      await carol.waitForStanza({ name: 'message', from: String(bob.jid), body: 'xmpp.js to slix' });
    });

    it('§5.3.1: before TLS the server offers only STARTTLS, marked <required/>', async () => {
      const { conn, features } = await plainStream(server);
      try {
        assert.match(features, /<starttls\s+xmlns=["']urn:ietf:params:xml:ns:xmpp-tls["'][^>]*>\s*<required\s*\/>/, features);
        assert.deepEqual(offeredMechanisms(features), [], 'no SASL mechanism before TLS');
        assert.doesNotMatch(features, /xmpp-bind/);
      } finally {
        conn.destroy();
      }
    });

    it('§5.4.3.3: STARTTLS is not offered again once TLS is on', async () => {
      for (const directTls of [false, true]) {
        const { conn, features } = await connectSecured({ port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls, directTls });
        try {
          assert.doesNotMatch(features, /xmpp-tls/, `directTls=${String(directTls)}: ${features}`);
          assert.ok(offeredMechanisms(features).length > 0);
        } finally {
          conn.destroy();
        }
      }
    });

    it('§6.4 / §5.3.1: authentication over plaintext is refused, even with the right password', async () => {
      const { conn } = await plainStream(server);
      try {
        const auth = Buffer.from(`\0alice\0${USERS.alice}`).toString('base64');
        await conn.send(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${auth}</auth>`);
        // Either a SASL <encryption-required/> failure (RFC 6120 §6.5.3) or a stream error; never success.
        const reply = await conn.readUntil(/<success[\s\S]*?(?:\/>|<\/success>)|<failure[\s\S]*?<\/failure>|<stream:error[\s\S]*?<\/stream:error>/);
        assert.doesNotMatch(reply, /<success/, 'PLAIN must not succeed without TLS');
        if (/<failure/.test(reply)) assert.match(reply, /<encryption-required\s*\/>/, reply);
      } finally {
        conn.destroy();
      }
    });

    it('RFC 8996: TLS 1.1 is refused on the direct TLS port and after STARTTLS', async (t) => {
      const control = await tls11ControlServer();
      t.after(() => control.close());
      const controlPort = (control.address() as { port: number }).port;
      // The client side can do TLS 1.1 (against a server that allows it)...
      const ok = await RawConnection.connect({ port: controlPort, directTls: true, tls: TLS11 }).then(
        (c) => {
          const v = c.tlsSocket?.getProtocol();
          c.destroy();
          return v;
        },
        (e: unknown) => `failed: ${String(e)}`,
      );
      if (ok !== 'TLSv1.1') {
        t.skip(`this OpenSSL cannot negotiate TLS 1.1 even with SECLEVEL=0 (${String(ok)})`);
        return;
      }
      // ...so a failure below is the server's refusal.
      await assert.rejects(RawConnection.connect({ port: server.ports.c2s_direct_tls, directTls: true, tls: TLS11 }), 'direct TLS with TLS 1.1');
      const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
      try {
        await conn.openStream();
        await assert.rejects(conn.startTls(TLS11), 'STARTTLS with TLS 1.1');
      } finally {
        conn.destroy();
      }
    });

    it('TLS 1.2 (the minimum) is accepted on both ports', async () => {
      for (const directTls of [false, true]) {
        const { conn } = await connectSecured({
          port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls,
          directTls,
          tls: { maxVersion: 'TLSv1.2' },
        });
        assert.equal(conn.tlsSocket?.getProtocol(), 'TLSv1.2');
        conn.destroy();
      }
    });

    it('RFC 9325 §4.2: a TLS 1.2 client offering only CBC (non-AEAD) suites is refused', async () => {
      await assert.rejects(
        RawConnection.connect({
          port: server.ports.c2s_direct_tls,
          directTls: true,
          tls: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA' },
        }),
      );
    });

    it('RFC 6125: the certificate names the served domain (SNI)', async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_direct_tls, directTls: true });
      try {
        const cert = conn.tlsSocket?.getPeerCertificate();
        assert.match(cert?.subjectaltname ?? '', /DNS:localhost\b/);
      } finally {
        conn.destroy();
      }
    });
  });

  describe('SASL (RFC 6120 §6, RFC 5802, RFC 7677, XEP-0440)', () => {
    it('@xmpp/client: SCRAM-SHA-1 over STARTTLS, PLAIN over STARTTLS, SCRAM-SHA-1 over direct TLS', async () => {
      for (const [mechanism, directTls] of [['SCRAM-SHA-1', false], ['PLAIN', false], ['SCRAM-SHA-1', true]] as const) {
        const c = await client(server, 'dave', {
          mechanism,
          directTls,
          port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls,
        });
        assert.equal(c.jid.bare().toString(), jidOf('dave'), `${mechanism} directTls=${String(directTls)}`);
        await c.close();
      }
    });

    // Issue 7: stock slixmpp (and poezio, built on it) picks SCRAM-SHA-256-PLUS with tls-unique,
    // also on TLS 1.3, and must get in with the production throttle settings.
    for (const [directTls, tlsMax] of [[false, undefined], [true, undefined], [false, 'TLSv1.2'], [true, 'TLSv1.2']] as const) {
      const label = `${directTls ? 'direct TLS' : 'STARTTLS'} on ${tlsMax ?? 'TLSv1.3'}`;
      it(`slixmpp, mechanism of its own choosing: ${label}`, { skip: noSlix }, async (t) => {
        const port = directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls;
        const c = await connectSlix(t, { jid: jidOf('dave'), password: USERS.dave, port, directTls, tlsMax });
        assert.equal(c.mechanism, 'SCRAM-SHA-256-PLUS');
        assert.equal(c.tlsVersion, tlsMax ?? 'TLSv1.3');
        assert.ok(c.jid.startsWith(`${jidOf('dave')}/`), c.jid);
      });
    }

    it('issue 7: stock slixmpp logs in 30 times in a row from one address, on TLS 1.3 and TLS 1.2, with the default throttle', { skip: noSlix, timeout: 120_000 }, async (t) => {
      const { SlixClient } = await import('./harness/slixmpp.ts');
      for (const tlsMax of [undefined, 'TLSv1.2'] as const) {
        const c = new SlixClient(tlsMax ? { tlsMax } : {});
        t.after(() => c.close());
        for (let i = 0; i < 30; i++) {
          await c.connect({ jid: jidOf('dave'), password: USERS.dave, port: server.ports.c2s_starttls });
          assert.equal(c.mechanism, 'SCRAM-SHA-256-PLUS', `login ${String(i + 1)}`);
          assert.equal(c.tlsVersion, tlsMax ?? 'TLSv1.3');
          await c.disconnect();
        }
      }
    });

    it('slixmpp: PLAIN when the user chooses it', { skip: noSlix }, async (t) => {
      const c = await connectSlix(t, { jid: jidOf('dave'), password: USERS.dave, port: server.ports.c2s_starttls, mechanism: 'PLAIN' });
      assert.equal(c.mechanism, 'PLAIN');
    });

    it("RFC 5802 §6: slixmpp forced to plain SCRAM sends 'y' while -PLUS is offered: refused as a downgrade, and nothing is throttled", { skip: noSlix }, async (t) => {
      const { SlixClient } = await import('./harness/slixmpp.ts');
      const forced = new SlixClient();
      t.after(() => forced.close());
      await assert.rejects(forced.connect({ jid: jidOf('erin'), password: USERS.erin, port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256' }));
      const failed = await forced.waitFor((e) => e.event === 'failed_auth');
      assert.equal(failed.event === 'failed_auth' && failed.condition, 'not-authorized');
      // The same address and account log in at once afterwards.
      const c = await connectSlix(t, { jid: jidOf('erin'), password: USERS.erin, port: server.ports.c2s_starttls });
      assert.equal(c.mechanism, 'SCRAM-SHA-256-PLUS');
    });

    for (const [mechanism, cbType, maxVersion] of [
      ['SCRAM-SHA-1', undefined, undefined],
      ['SCRAM-SHA-256', undefined, undefined],
      ['SCRAM-SHA-1-PLUS', 'tls-exporter', undefined],
      ['SCRAM-SHA-256-PLUS', 'tls-exporter', undefined],
      ['SCRAM-SHA-1-PLUS', 'tls-server-end-point', undefined],
      ['SCRAM-SHA-256-PLUS', 'tls-server-end-point', undefined],
      ['SCRAM-SHA-1-PLUS', 'tls-server-end-point', 'TLSv1.2'],
      ['SCRAM-SHA-256-PLUS', 'tls-server-end-point', 'TLSv1.2'],
    ] as const) {
      const label = `${mechanism}${cbType ? ` (${cbType})` : ''}${maxVersion ? ` on ${maxVersion}` : ''}`;
      it(`raw RFC 5802 client: ${label} succeeds and the server proves it knows the password`, async () => {
        for (const directTls of [false, true]) {
          const s = await login(server, 'dave', {
            mechanism,
            cbType,
            directTls,
            port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls,
            tls: maxVersion ? { maxVersion } : undefined,
          });
          try {
            if (mechanism.startsWith('SCRAM')) assert.equal(s.auth.serverVerified, true, 'ServerSignature (v=) checks out');
            if (maxVersion) assert.equal(s.conn.tlsSocket?.getProtocol(), maxVersion);
            assert.ok(s.jid?.startsWith(`${jidOf('dave')}/`));
          } finally {
            s.conn.destroy();
          }
        }
      });
    }

    it('XEP-0440: every advertised channel-binding type works (TLS 1.3 and TLS 1.2)', async () => {
      for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
        const probe = await connectSecured({ port: server.ports.c2s_starttls, tls: { maxVersion } });
        const types = advertisedCbTypes(probe.features);
        probe.conn.destroy();
        assert.ok(types.includes('tls-server-end-point'), `${maxVersion}: tls-server-end-point advertised (${types.join(', ')})`);
        if (maxVersion === 'TLSv1.3') assert.ok(types.includes('tls-exporter'), `TLS 1.3: tls-exporter advertised (${types.join(', ')})`);
        for (const type of types) {
          if (!['tls-exporter', 'tls-server-end-point', 'tls-unique'].includes(type)) continue;
          const s = await login(server, 'dave', { mechanism: 'SCRAM-SHA-256-PLUS', cbType: type as CbType, tls: { maxVersion } });
          assert.equal(s.auth.serverVerified, true, `${maxVersion} ${type}`);
          s.conn.destroy();
        }
      }
    });

    it('wrong password: not-authorized with @xmpp/client, slixmpp and the raw client', async (t) => {
      await assert.rejects(client(server, 'alice', { password: 'wrong-password' }), (e: Error & { condition?: string }) => {
        assert.equal(e.condition, 'not-authorized', e.message);
        return true;
      });
      await assert.rejects(client(server, 'alice', { password: 'wrong-password', mechanism: 'PLAIN' }), (e: Error & { condition?: string }) => {
        assert.equal(e.condition, 'not-authorized', e.message);
        return true;
      });
      for (const mechanism of ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'PLAIN']) {
        const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
        const res = await authenticate(conn, { mechanism, username: 'alice', password: 'wrong-password' });
        conn.destroy();
        assert.equal(res.success, false, mechanism);
        assert.equal(res.condition, 'not-authorized', `${mechanism}: ${res.transcript.join(' ')}`);
      }
      if (!noSlix) {
        const slix = (await import('./harness/slixmpp.ts')).SlixClient;
        const c = new slix();
        t.after(() => c.close());
        await assert.rejects(c.connect({ jid: jidOf('alice'), password: 'wrong-password', port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256' }));
        const failed = await c.waitFor((e) => e.event === 'failed_auth');
        assert.equal(failed.event === 'failed_auth' && failed.condition, 'not-authorized');
      }
    });

    it('an unknown account fails exactly like a wrong password (no account probing)', async () => {
      for (const mechanism of ['SCRAM-SHA-256', 'PLAIN']) {
        const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
        const res = await authenticate(conn, { mechanism, username: 'nosuchuser', password: 'whatever' });
        conn.destroy();
        assert.equal(res.success, false);
        assert.equal(res.condition, 'not-authorized', `${mechanism}: ${res.transcript.join(' ')}`);
      }
    });

    it('RFC 5802 §6: wrong channel-binding data is refused', async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
      const res = await authenticate(conn, {
        mechanism: 'SCRAM-SHA-256-PLUS',
        username: 'alice',
        password: USERS.alice,
        cbType: 'tls-exporter',
        cbData: Buffer.alloc(32, 7),
      });
      conn.destroy();
      assert.equal(res.success, false);
    });

    it('issue 7: channel-binding refusals count against no address: more of them than the address limit, then a login at once', async () => {
      for (let i = 0; i < 12; i++) {
        const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
        const res = await authenticate(conn, { mechanism: 'SCRAM-SHA-256-PLUS', username: 'mallory', password: USERS.mallory, cbType: 'tls-exporter', cbData: Buffer.alloc(32, i) });
        conn.destroy();
        assert.equal(res.success, false);
        assert.equal(res.condition, 'not-authorized');
      }
      const s = await login(server, 'mallory');
      assert.ok(s.jid?.startsWith(`${jidOf('mallory')}/`));
      s.conn.destroy();
    });

    it("RFC 5802 §6: on TLS 1.2 (tls-unique offered) the 'y' flag is refused as a downgrade", async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_starttls, tls: { maxVersion: 'TLSv1.2' } });
      const res = await authenticate(conn, { mechanism: 'SCRAM-SHA-256', username: 'alice', password: USERS.alice, gs2Flag: 'y' });
      conn.destroy();
      assert.equal(res.success, false, res.transcript.join(' '));
    });

    it("RFC 5802 §6: on TLS 1.3 the 'y' flag is refused as a downgrade too (-PLUS is offered)", async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_starttls, tls: { minVersion: 'TLSv1.3' } });
      const res = await authenticate(conn, { mechanism: 'SCRAM-SHA-256', username: 'alice', password: USERS.alice, gs2Flag: 'y' });
      conn.destroy();
      assert.equal(res.success, false, res.transcript.join(' '));
      assert.equal(res.condition, 'not-authorized');
    });

    it('COMPAT: tls-unique is accepted on TLS 1.3 as OpenSSL defines it (slixmpp, poezio), but not advertised', async () => {
      for (const directTls of [false, true]) {
        const probe = await connectSecured({ port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls, directTls, tls: { minVersion: 'TLSv1.3' } });
        probe.conn.destroy();
        assert.ok(!advertisedCbTypes(probe.features).includes('tls-unique'));
        const s = await login(server, 'alice', {
          mechanism: 'SCRAM-SHA-256-PLUS',
          cbType: 'tls-unique',
          directTls,
          port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls,
          tls: { minVersion: 'TLSv1.3' },
        });
        assert.equal(s.auth.serverVerified, true);
        s.conn.destroy();
      }
    });

    it('§6.5.5: an unknown mechanism gets <invalid-mechanism/>', async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
      try {
        await conn.send(`<auth xmlns='${NS.SASL}' mechanism='DIGEST-MD5'/>`);
        const reply = await conn.readUntil(/<failure[\s\S]*?<\/failure>/);
        assert.match(reply, /<invalid-mechanism\s*\/>/);
      } finally {
        conn.destroy();
      }
    });

    it('§6.4.6: the client may abort; the server answers <aborted/>', async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
      try {
        const first = Buffer.from('n,,n=alice,r=abcdefghijklmnop').toString('base64');
        await conn.send(`<auth xmlns='${NS.SASL}' mechanism='SCRAM-SHA-256'>${first}</auth>`);
        await conn.readUntil(/<challenge[\s\S]*?<\/challenge>/);
        await conn.send(`<abort xmlns='${NS.SASL}'/>`);
        const reply = await conn.readUntil(/<failure[\s\S]*?<\/failure>/);
        assert.match(reply, /<aborted\s*\/>/);
      } finally {
        conn.destroy();
      }
    });
  });

  describe('Stream rules (RFC 6120 §4, §11)', () => {
    it('§4.7: the response header carries from=domain, an id and version 1.0', async () => {
      const { conn, features } = await plainStream(server);
      conn.destroy();
      const header = /<stream:stream[^>]*>/.exec(features)?.[0] ?? '';
      assert.match(header, /\sfrom=["']localhost["']/, header);
      assert.match(header, /\sid=["'][^"']{8,}["']/, header);
      assert.match(header, /\sversion=["']1\.0["']/, header);
    });

    it('§4.9.3.6: an unknown host gets <host-unknown/>', async () => {
      const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
      await conn.send(streamHeader('unknown.example'));
      await expectStreamError(conn, 'host-unknown');
    });

    it('§4.9.3.10: a wrong stream namespace gets <invalid-namespace/>', async () => {
      const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
      await conn.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='urn:example:wrong' to='localhost' version='1.0'>`);
      await expectStreamError(conn, 'invalid-namespace');
    });

    it('§4.9.3.13: mismatched tags get <not-well-formed/>', async () => {
      const s = await login(server, 'mallory');
      await s.conn.send(`<message to='${jidOf('bob')}'><body>x</message>`);
      await expectStreamError(s.conn, 'not-well-formed');
    });

    it('§11.1: a DTD in the stream prologue gets <restricted-xml/>', async () => {
      const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
      await conn.send(`<?xml version='1.0'?><!DOCTYPE stream:stream [<!ELEMENT stream:stream ANY>]>${streamHeader(DOMAIN, { xmlDecl: false })}`);
      await expectStreamError(conn, 'restricted-xml');
    });

    it('§11.1: an entity bomb gets <restricted-xml/> and the server keeps serving', async () => {
      const lol = ['<!ENTITY lol "lol">'];
      for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${String(i)} "${`&lol${i === 1 ? '' : String(i - 1)};`.repeat(10)}">`);
      const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
      await conn.send(
        `<?xml version='1.0'?><!DOCTYPE lolz [${lol.join('')}]>${streamHeader(DOMAIN, { xmlDecl: false })}<message><body>&lol9;</body></message>`,
      );
      await expectStreamError(conn, 'restricted-xml');
      const alice = await client(server, 'alice');
      const bob = await client(server, 'bob');
      try {
        await roundTrip(alice, bob, 'still alive after the bomb');
      } finally {
        await alice.close();
        await bob.close();
      }
    });

    it('§11.1: an entity declared inside the stream gets <restricted-xml/>', async () => {
      const s = await login(server, 'mallory');
      await s.conn.send(`<!DOCTYPE x [<!ENTITY e "boom">]><message to='${jidOf('bob')}'><body>&e;</body></message>`);
      const text = await s.conn.readUntil(PATTERN.streamError);
      // A DOCTYPE after the root element is also not well-formed XML; restricted-xml is the precise answer.
      assert.ok(['restricted-xml', 'not-well-formed'].includes(streamErrorCondition(text) ?? ''), text);
      await s.conn.closed;
    });

    it('§11.1: a comment inside an authenticated stream gets <restricted-xml/>', async () => {
      const s = await login(server, 'mallory');
      await s.conn.send(`<!-- a comment --><message to='${jidOf('bob')}' type='chat'><body>x</body></message>`);
      await expectStreamError(s.conn, 'restricted-xml');
    });

    it('§11.1: a comment inside a stanza gets <restricted-xml/>', async () => {
      const s = await login(server, 'mallory');
      await s.conn.send(`<message to='${jidOf('bob')}' type='chat'><body>x<!-- hidden --></body></message>`);
      await expectStreamError(s.conn, 'restricted-xml');
    });

    it('§11.1: a processing instruction inside the stream gets <restricted-xml/>', async () => {
      const s = await login(server, 'mallory');
      await s.conn.send(`<?evil instruction?><message to='${jidOf('bob')}' type='chat'><body>x</body></message>`);
      await expectStreamError(s.conn, 'restricted-xml');
    });

    it('§11.1: a processing instruction before TLS gets <restricted-xml/>', async () => {
      const { conn } = await plainStream(server);
      await conn.send(`<?evil instruction?>`);
      await expectStreamError(conn, 'restricted-xml');
    });

    it('§13.12: a 10 MB stanza gets <policy-violation/> while other users keep chatting', async () => {
      const alice = await client(server, 'alice');
      const bob = await client(server, 'bob');
      try {
        const s = await login(server, 'mallory');
        const total = 10 * 1024 * 1024;
        const piece = 'A'.repeat(64 * 1024);
        await s.conn.send(`<message to='${String(bob.jid)}' type='chat'><body>`);
        let chatting = true;
        let rounds = 0;
        let slowest = 0;
        const chat = (async () => {
          while (chatting) {
            const t0 = Date.now();
            await roundTrip(alice, bob, `during the flood ${String(rounds)}`);
            await roundTrip(bob, alice, `reply ${String(rounds)}`);
            slowest = Math.max(slowest, Date.now() - t0);
            rounds++;
          }
        })();
        const sent = await s.conn.sendStream(total, () => piece);
        if (!s.conn.isClosed) await s.conn.send('</body></message>');
        await expectStreamError(s.conn, 'policy-violation', 15_000);
        // Chat on for a moment after the flood too, then stop.
        const target = rounds + 3;
        while (rounds < target) await new Promise((r) => setTimeout(r, 20));
        chatting = false;
        await chat;
        assert.ok(rounds >= 3, `alice and bob completed ${String(rounds)} round trips`);
        assert.ok(slowest < 3000, `slowest round trip ${String(slowest)} ms`);
        assert.ok(sent > 0);
        await bob.expectNone((el) => el.is('message') && String(el.attrs['from']).startsWith(jidOf('mallory')), 300, 'nothing from mallory');
      } finally {
        await alice.close();
        await bob.close();
      }
    });

    it('§4.9.3.12: a stanza before TLS gets <not-authorized/>', async () => {
      const { conn } = await plainStream(server);
      await conn.send(`<message to='${jidOf('bob')}' type='chat'><body>sneaky</body></message>`);
      await expectStreamError(conn, 'not-authorized');
    });

    it('§4.9.3.12: a stanza after TLS but before SASL gets <not-authorized/>', async () => {
      const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
      await conn.send(`<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`);
      await expectStreamError(conn, 'not-authorized');
    });

    it('§7.1: a stanza after SASL but before binding gets <not-authorized/>', async () => {
      const s = await login(server, 'mallory', { skipBind: true });
      await s.conn.send(`<message to='${jidOf('bob')}' type='chat'><body>unbound</body></message>`);
      await expectStreamError(s.conn, 'not-authorized');
    });

    it('§8.1.2.1: a forged from is replaced by the sender\'s full JID', async () => {
      const bob = await client(server, 'bob');
      try {
        const s = await login(server, 'mallory', { resource: 'forge' });
        await s.conn.send(`<message from='${jidOf('alice')}/phone' to='${String(bob.jid)}' type='chat'><body>forged</body></message>`);
        // Either the server stamps the true sender, or it ends the stream with <invalid-from/>.
        const settled = await Promise.race([
          bob.waitFor(match.message(undefined, 'forged'), 3000).then((el) => ({ el })),
          s.conn.readUntil(PATTERN.streamError, 3000).then((text) => ({ text })),
        ]).catch(() => ({}));
        if ('el' in settled) assert.equal(settled.el.attrs['from'], s.jid);
        else if ('text' in settled) assert.equal(streamErrorCondition(settled.text), 'invalid-from');
        await bob.expectNone((el) => el.is('message') && String(el.attrs['from']).startsWith(jidOf('alice')), 300, 'nothing claiming to be alice');
        s.conn.destroy();
      } finally {
        await bob.close();
      }
    });

    it('§4.6.1: whitespace keepalives between stanzas are accepted', async () => {
      const s = await login(server, 'carol');
      try {
        for (const ws of [' ', '\n', '\r\n', '\t  \n ']) {
          await s.conn.send(ws);
          await new Promise((r) => setTimeout(r, 50));
        }
        await s.conn.send(`<iq type='get' id='ka1' to='${DOMAIN}'><query xmlns='urn:example:no-such-feature'/></iq>`);
        const reply = await s.conn.readUntil(/<iq[^>]*\bid=["']ka1["'][\s\S]*?(?:<\/iq>|\/>)/);
        assert.match(reply, /type=["'](?:result|error)["']/);
        assert.equal(s.conn.isClosed, false);
      } finally {
        s.conn.destroy();
      }
    });

    it('§4.4: </stream:stream> from the client is answered with </stream:stream> and a TCP close', async () => {
      const s = await login(server, 'carol');
      const text = await s.conn.closeStream();
      assert.match(text, PATTERN.streamClose);
      await s.conn.closed;
      assert.equal(s.conn.isClosed, true);
    });

    it('§4.4: @xmpp/client stop() closes cleanly and the server reports the session gone', async () => {
      const alice = await client(server, 'alice');
      await alice.close();
      assert.equal(alice.errors.length, 0, alice.errors.map((e) => e.message).join('; '));
      // The full JID no longer routes: a message to it is not delivered to a ghost.
      const bob = await client(server, 'bob');
      try {
        await bob.send(xml('iq', { type: 'get', to: String(alice.jid), id: 'ghost1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
        const reply = await bob.waitFor((el) => el.is('iq') && el.attrs['id'] === 'ghost1');
        assert.equal(reply.attrs['type'], 'error', reply.toString());
      } finally {
        await bob.close();
      }
    });
  });

  describe('Resource binding (RFC 6120 §7)', () => {
    it('§7.6: the server generates a resource when none is proposed, unique per session', async () => {
      const a = await login(server, 'carol');
      const b = await login(server, 'carol');
      try {
        assert.match(a.jid ?? '', /^carol@localhost\/.+/);
        assert.match(b.jid ?? '', /^carol@localhost\/.+/);
        assert.notEqual(a.jid, b.jid);
      } finally {
        a.conn.destroy();
        b.conn.destroy();
      }
    });

    it('§7.7: a proposed resource is granted', async () => {
      const c = await client(server, 'carol', { resource: 'laptop' });
      try {
        assert.equal(String(c.jid), `${jidOf('carol')}/laptop`);
      } finally {
        await c.close();
      }
    });

    it('§7.7.2.2 (resource_conflict: kick_old, the default): the old session gets <conflict/>', { skip: noSlix }, async (t) => {
      const old = await client(server, 'alice', { resource: 'phone' });
      t.after(() => old.close());
      const fresh = await connectSlix(t, { jid: jidOf('alice'), password: USERS.alice, port: server.ports.c2s_starttls, resource: 'phone' });
      assert.equal(fresh.jid, `${jidOf('alice')}/phone`);
      await old.waitFor(match.streamError('conflict'), 5000, '<conflict/> stream error');
      await old.offline;
      // The full JID now reaches the new session.
      const bob = await client(server, 'bob');
      t.after(() => bob.close());
      await bob.send(xml('message', { to: `${jidOf('alice')}/phone`, type: 'chat' }, xml('body', {}, 'to the new phone')));
      await fresh.waitForStanza({ name: 'message', body: 'to the new phone' });
    });

    it('§7.7.2.2 kick_old with the same client library on both sides', async () => {
      const old = await client(server, 'dave', { resource: 'desk' });
      const fresh = await client(server, 'dave', { resource: 'desk' });
      try {
        assert.equal(String(fresh.jid), `${jidOf('dave')}/desk`);
        await old.waitFor(match.streamError('conflict'));
        await old.offline;
        assert.equal(fresh.isOnline, true);
      } finally {
        await old.close();
        await fresh.close();
      }
    });
  });
});

describe('Configured limits and policies (RFC 6120 §4.6, §7.6.2.1, §7.7.2.2)', () => {
  let refuse: TestServer;
  let random: TestServer;
  let timeouts: TestServer;
  const pw = 'pw-limits-1';

  before(async () => {
    [refuse, random, timeouts] = await Promise.all([
      startServer({
        users: [[jidOf('alice'), pw]],
        config: { auth: { resource_conflict: 'refuse' }, limits: { max_resources_per_user: 2 } },
      }),
      startServer({ users: [[jidOf('alice'), pw]], config: { auth: { resource_conflict: 'random' } } }),
      startServer({ users: [[jidOf('alice'), pw]], config: { limits: { handshake_timeout: '1s', idle_timeout: '2s' } } }),
    ]);
  });
  after(async () => {
    await Promise.all([refuse.stop({ remove: true }), random.stop({ remove: true }), timeouts.stop({ remove: true })]);
  });

  const bindRaw = async (s: TestServer, resource?: string): Promise<{ conn: RawConnection; reply: string }> => {
    const r = await rawLogin({ port: s.ports.c2s_starttls, username: 'alice', password: pw, skipBind: true });
    const res = resource ? `<resource>${resource}</resource>` : '';
    await r.conn.send(`<iq type='set' id='b1'><bind xmlns='${NS.BIND}'>${res}</bind></iq>`);
    const reply = await r.conn.readUntil(/<iq[\s\S]*?<\/iq>|<iq[^>]*\/>/);
    return { conn: r.conn, reply };
  };

  it('resource_conflict: refuse keeps the old session and answers <conflict/> to the new bind', async () => {
    const first = await bindRaw(refuse, 'phone');
    const second = await bindRaw(refuse, 'phone');
    try {
      assert.match(first.reply, /<jid>alice@localhost\/phone<\/jid>/);
      assert.match(second.reply, /type=["']error["']/);
      assert.match(second.reply, /<conflict\s+xmlns=["']urn:ietf:params:xml:ns:xmpp-stanzas["']/);
      assert.equal(first.conn.isClosed, false);
    } finally {
      first.conn.destroy();
      second.conn.destroy();
    }
  });

  it('§7.6.2.1: max_resources_per_user reached -> <resource-constraint/>', async () => {
    const a = await bindRaw(refuse, 'r1');
    const b = await bindRaw(refuse, 'r2');
    const c = await bindRaw(refuse, 'r3');
    try {
      assert.match(a.reply, /<jid>/);
      assert.match(b.reply, /<jid>/);
      assert.match(c.reply, /<resource-constraint\s+xmlns=["']urn:ietf:params:xml:ns:xmpp-stanzas["']/, c.reply);
    } finally {
      for (const x of [a, b, c]) x.conn.destroy();
    }
  });

  it('resource_conflict: random gives the new session another resource and keeps both', async () => {
    const first = await bindRaw(random, 'phone');
    const second = await bindRaw(random, 'phone');
    try {
      assert.match(first.reply, /<jid>alice@localhost\/phone<\/jid>/);
      const jid = /<jid>([^<]+)<\/jid>/.exec(second.reply)?.[1] ?? '';
      assert.match(jid, /^alice@localhost\/.+/, second.reply);
      assert.notEqual(jid, 'alice@localhost/phone');
      assert.equal(first.conn.isClosed, false);
    } finally {
      first.conn.destroy();
      second.conn.destroy();
    }
  });

  it('handshake_timeout: a connection that never authenticates gets <connection-timeout/>', async () => {
    const conn = await RawConnection.connect({ port: timeouts.ports.c2s_starttls });
    await conn.openStream();
    await expectStreamError(conn, 'connection-timeout', 4000);
  });

  it('idle_timeout: whitespace keepalives keep a session open; a silent one is pinged (test/liveness.test.ts has the rest)', async () => {
    const s = await rawLogin({ port: timeouts.ports.c2s_starttls, username: 'alice', password: pw });
    // 3.5 s of keepalives every 500 ms: longer than the 2 s idle timeout.
    for (let i = 0; i < 7; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await s.conn.send(' ');
    }
    assert.equal(s.conn.isClosed, false, 'still open after keepalives');
    assert.equal(streamErrorCondition(s.conn.text), undefined);
    assert.doesNotMatch(s.conn.text, /urn:xmpp:ping/, 'no probe while the client keeps talking');
    await s.conn.readUntil(/urn:xmpp:ping/, 5000);
    s.conn.destroy();
  });

  it(
    '§4.4: on SIGTERM, connected clients get their stream closed and the server exits',
    async () => {
    const s = await rawLogin({ port: random.ports.c2s_starttls, username: 'alice', password: pw });
    await random.stop({ killAfterMs: 5000 });
    assert.notEqual(random.process.signalCode, 'SIGKILL', 'exited by itself after SIGTERM');
    await s.conn.closed;
    // RFC 6120 §4.9.3.22 <system-shutdown/>, or at least a closing tag.
    const cond = streamErrorCondition(s.conn.text);
    assert.ok(cond === 'system-shutdown' || PATTERN.streamClose.test(s.conn.text), s.conn.text.slice(-500));
    },
  );
});
