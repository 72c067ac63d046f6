// Registration outside the open modes, and its rate limits: closed by default (no feature, the
// XEP-0077 §3.1 <service-unavailable/>), invite mode without an invites module, and the limits
// per address and per /24, which lift on their own after the window; other users are unaffected.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectSecured, type RawConnection } from '../harness/raw.ts';
import { match, xml } from '../harness/client.ts';
import { until } from '../harness/eventually.ts';

const IQ_REPLY = /<iq[^>]*\/>|<iq[\s\S]*?<\/iq>/;
const FEATURE = 'http://jabber.org/features/iq-register';

async function iq(conn: RawConnection, id: string, body: string, type: 'get' | 'set' = 'set'): Promise<string> {
  await conn.send(`<iq type='${type}' id='${id}'>${body}</iq>`);
  return conn.readUntil(IQ_REPLY);
}

const legacy = (user: string, password: string) => `<query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query>`;
const condition = (reply: string) => /<error[^>]*>\s*<([a-z-]+)/.exec(reply)?.[1];

describe('registration closed (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test('no stream feature; a registration request gets <service-unavailable/>; the host still advertises jabber:iq:register', async (t) => {
    const { conn, features } = await connectSecured({ port: server.ports.c2s_starttls });
    t.after(() => conn.destroy());
    assert.doesNotMatch(features, new RegExp(FEATURE));
    assert.equal(condition(await iq(conn, 'g1', "<query xmlns='jabber:iq:register'/>", 'get')), 'service-unavailable');
    assert.equal(condition(await iq(conn, 's1', legacy('nobody', 'a-long-good-secret'))), 'service-unavailable');
    // Any other IQ before authentication still ends the stream, as before registration existed.
    await conn.send("<iq type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
    assert.match(await conn.readUntil(/<\/stream:stream>/), /<not-authorized/);
    const c = await server.connectClient(t, 'resident');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), server.domain);
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === 'jabber:iq:register'));
  });

  test('a user logged in changes the password and gets <registered/> though registration is closed', async (t) => {
    const c = await server.connectClient(t, 'keeper');
    const got = await c.iqGet(xml('query', { xmlns: 'jabber:iq:register' }));
    assert.ok(got.getChild('registered'));
    assert.equal(got.getChildText('username'), 'keeper');
    c.clear();
    await assert.rejects(c.iqSet(xml('query', { xmlns: 'jabber:iq:register' }, xml('username', {}, 'keeper'), xml('password', {}, 'letmein'))), /not-acceptable/);
    // §3.3: the error does not send the password back.
    const error = await c.waitFor((e) => e.is('iq') && e.attrs['type'] === 'error');
    assert.doesNotMatch(error.toString(), /letmein/);
    assert.equal(error.getChild('error')?.attrs['code'], '406');
    await assert.rejects(c.iqSet(xml('query', { xmlns: 'jabber:iq:register' }, xml('username', {}, 'someoneelse'), xml('password', {}, 'a-long-good-secret'))), /bad-request/);
    await c.iqSet(xml('query', { xmlns: 'jabber:iq:register' }, xml('username', {}, 'keeper'), xml('password', {}, 'a-long-good-secret')));
  });
});

describe('registration in invite mode without an invites module', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { register: { mode: 'invite' } } });
  });
  after(() => server.stop());

  test('stays closed and says so at start', async (t) => {
    assert.match(server.logs(), /no module provides invitations/);
    const { conn, features } = await connectSecured({ port: server.ports.c2s_starttls });
    t.after(() => conn.destroy());
    assert.doesNotMatch(features, new RegExp(FEATURE));
    assert.equal(condition(await iq(conn, 'g1', "<query xmlns='jabber:iq:register'/>", 'get')), 'service-unavailable');
    assert.equal(condition(await iq(conn, 'p1', "<preauth xmlns='urn:xmpp:pars:0' token='abc'/>")), 'service-unavailable');
  });
});

describe('registration rate limits', () => {
  let server: TestServer;
  const WINDOW_S = 10;
  before(async () => {
    // Only the window is shortened, so the test can see the limits lift; the limits are the defaults (3, 10).
    server = await startServer({ modules: { disco: {}, register: { mode: 'open', window: `${WINDOW_S}s` } } });
  });
  after(() => server.stop());

  test('per address, then per /24; other users unaffected; lifted after the window', async (t) => {
    const alice = await server.connectClient(t, 'alice');
    const bob = await server.connectClient(t, 'bob');
    let n = 0;
    // One connection per account: a connection registers one identity (XEP-0077 §3.1.1).
    const registerFrom = async (address: string, count: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const { conn } = await connectSecured({ port: server.ports.c2s_starttls, localAddress: address });
        try {
          out.push(await iq(conn, `r${i}`, legacy(`user${++n}`, 'a-long-good-secret')));
        } finally {
          conn.destroy();
        }
      }
      return out;
    };
    const started = Date.now();
    // Three from one address, the fourth refused (XEP-0077 §3.1: <resource-constraint/>).
    const fromTwo = await registerFrom('127.0.0.2', 4);
    assert.deepEqual(fromTwo.slice(0, 3).map(condition), [undefined, undefined, undefined]);
    assert.equal(condition(fromTwo[3] ?? ''), 'resource-constraint');
    assert.match(fromTwo[3] ?? '', /type="wait"|type='wait'/);
    assert.match(fromTwo[3] ?? '', /your address/);
    // Ten from one /24: .2 has three, .3 and .4 three each, .5 one; then .6 is refused for the range.
    for (const [address, count] of [['127.0.0.3', 3], ['127.0.0.4', 3], ['127.0.0.5', 1]] as const) {
      assert.deepEqual((await registerFrom(address, count)).map(condition), Array(count).fill(undefined));
    }
    const fromSix = await registerFrom('127.0.0.6', 1);
    assert.equal(condition(fromSix[0] ?? ''), 'resource-constraint');
    assert.match(fromSix[0] ?? '', /your network/);
    assert.ok(Date.now() - started < WINDOW_S * 1000, 'all within one window');

    // Logged-in users chat on meanwhile.
    await alice.send(xml('message', { to: bob.jid.toString(), type: 'chat' }, xml('body', {}, 'still here')));
    await bob.waitFor(match.message(alice.jid.bare().toString(), 'still here'));

    // The window ends: the limits lift on their own.
    await until('the limits lift', async () => condition((await registerFrom('127.0.0.6', 1))[0] ?? '') === undefined, (WINDOW_S + 10) * 1000, 1000);
    assert.ok(!/127\.0\.0\.[2-6]/.test(server.logs()), 'no address logged');
  });
});
