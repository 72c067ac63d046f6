// XEP-0388 SASL2 with XEP-0386 Bind 2 and XEP-0198 inline, over real TLS sockets against the real
// server process: a raw client with its own SCRAM (test/harness/sasl2.ts) and stock xmpp.js. Login
// and bind in one exchange with carbons and stream management on, every defence of RFC 6120 SASL
// (TLS only, channel binding, downgrade protection, the throttle) and a failure for every bad input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { match, xml } from './harness/client.ts';
import { connectSecured, PATTERN, RawConnection, rawLogin, streamErrorCondition } from './harness/raw.ts';
import { attrOf, bind2, childText, NS2, sasl2Authenticate, sasl2Login } from './harness/sasl2.ts';

const UA = 'f81d4fae-7dec-41d0-a765-00a0c91e6bf6';

/** The <authentication/> feature in a features text. */
function authentication(features: string): string | undefined {
  return /<authentication\b[\s\S]*?<\/authentication>/.exec(features)?.[0];
}

/** Sends raw XML and reads the next SASL2 reply (or a stream error). */
async function exchange(conn: RawConnection, xmlText: string): Promise<string> {
  await conn.send(xmlText);
  return conn.readUntil(/<(failure|success|challenge)\b[^>]*?(?:\/>|>[\s\S]*?<\/\1>)|<\/stream:error>/);
}

describe('XEP-0388 SASL2 and XEP-0386 Bind 2', () => {
  let server: TestServer;
  const pw = new Map<string, string>();
  const user = async (name: string): Promise<string> => {
    if (!pw.has(name)) pw.set(name, await server.adduser(name));
    return pw.get(name) ?? '';
  };
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop({ remove: true }));

  it('§2.1: offered after TLS only, with the SASL mechanisms, Bind 2 (carbons, CSI, XEP-0198 inline), inline resumption and FAST, next to the XEP-0440 channel-binding types', async () => {
    const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
    const plain = await conn.openStream();
    assert.equal(authentication(plain), undefined, 'nothing before TLS');
    // XEP-0388 §5: an <authenticate/> before TLS is refused.
    const refused = await exchange(conn, `<authenticate xmlns='${NS2.SASL2}' mechanism='PLAIN'><initial-response>AGEAYg==</initial-response></authenticate>`);
    assert.match(refused, /<failure xmlns="urn:xmpp:sasl:2"><encryption-required xmlns="urn:ietf:params:xml:ns:xmpp-sasl"\/>/);
    await conn.startTls();
    const features = await conn.openStream();
    const auth = authentication(features) ?? '';
    const mechs = (block: string) => [...block.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]);
    const sasl1 = /<mechanisms[\s\S]*?<\/mechanisms>/.exec(features)?.[0] ?? '';
    const fast = /<fast[\s\S]*?<\/fast>/.exec(auth)?.[0] ?? '';
    assert.deepEqual(mechs(auth.replace(fast, '')), mechs(sasl1), 'the same mechanisms as RFC 6120 SASL, -PLUS included');
    assert.ok(mechs(auth).includes('SCRAM-SHA-256-PLUS'));
    assert.match(auth, /<bind xmlns="urn:xmpp:bind:0"><inline><feature var="urn:xmpp:carbons:2"\/><feature var="urn:xmpp:csi:0"\/><feature var="urn:xmpp:sm:3"\/><\/inline><\/bind>/);
    assert.match(auth, /<sm xmlns="urn:xmpp:sm:3"\/>/);
    assert.deepEqual(mechs(fast), ['HT-SHA-256-EXPR', 'HT-SHA-256-ENDP', 'HT-SHA-256-NONE']);
    assert.match(features, /<sasl-channel-binding xmlns="urn:xmpp:sasl-cb:0">/);
    conn.destroy();
    // Direct TLS (XEP-0368) offers it at once.
    const direct = await connectSecured({ port: server.ports.c2s_direct_tls, directTls: true });
    assert.ok(authentication(direct.features));
    direct.conn.destroy();
  });

  it('SCRAM-SHA-256-PLUS login and Bind 2 in one exchange: the server proves the password, the session is bound with carbons and stream management on', async (t) => {
    const password = await user('alice');
    const { conn, result } = await sasl2Login({
      port: server.ports.c2s_starttls,
      mechanism: 'SCRAM-SHA-256-PLUS',
      username: 'alice',
      password,
      userAgentId: UA,
      inline: bind2('Raw', `<enable xmlns='${NS2.CARBONS}'/>`, `<enable xmlns='${NS2.SM}' resume='true'/>`),
    });
    t.after(() => conn.destroy());
    assert.ok(result.success, result.final);
    assert.equal(result.transcript.length, 2, 'one challenge, then success');
    assert.equal(result.serverVerified, true, 'SCRAM server signature in <additional-data/>');
    // §2.6.1 + XEP-0386 §2.2: the full JID, "[tag]/[server part]", never showing the user-agent id.
    const jid = result.identity ?? '';
    assert.match(jid, /^alice@localhost\/Raw\/[A-Za-z0-9_-]{12}$/);
    assert.ok(!jid.includes(UA.slice(0, 8)));
    assert.match(result.final, /<bound xmlns="urn:xmpp:bind:0"><enabled xmlns="urn:xmpp:sm:3" id="[^"]+" resume="true" max="\d+"\/><\/bound>/);
    // No restart: features follow, without <bind/> or <sm/> (both done).
    assert.ok(result.features && !/<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/.test(result.features) && !/<sm /.test(result.features));
    assert.match(result.features ?? '', /<csi xmlns="urn:xmpp:csi:0"\/>/);
    // Stream management is on: the stream answers <r/>.
    await conn.send(`<r xmlns='${NS2.SM}'/>`);
    assert.match(await conn.readUntil(/<a [^>]*\/>/), /h="0"/);
    // Carbons are on: a message to the account's other resource is copied here.
    const laptop = await server.connectClient(t, 'alice', { password, resource: 'laptop' });
    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('message', { to: String(laptop.jid), type: 'chat' }, xml('body', {}, 'for the laptop')));
    await laptop.waitFor(match.message('bob@localhost', 'for the laptop'));
    const carbon = await conn.readUntil('</message>');
    assert.match(carbon, /<received xmlns="urn:xmpp:carbons:2">[\s\S]*for the laptop/);
    // The session is an ordinary one: the full JID routes to it.
    await bob.send(xml('message', { to: jid, type: 'chat' }, xml('body', {}, 'to the raw client')));
    await conn.readUntil('to the raw client');
  });

  it('XEP-0386 §2.2: the same client (user-agent id and tag) gets the same resource, and its earlier session ends; another client gets another one', async () => {
    const password = await user('carol');
    const login = (id: string) => sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256', username: 'carol', password, userAgentId: id, inline: bind2('Phone') });
    const first = await login(UA);
    const second = await login(UA);
    assert.equal(second.result.identity, first.result.identity);
    await first.conn.readUntil(PATTERN.streamError);
    assert.equal(streamErrorCondition(first.conn.text), 'conflict');
    const other = await login('0a3c9e52-0000-4000-8000-000000000002');
    assert.notEqual(other.result.identity, second.result.identity);
    assert.equal(second.conn.isClosed, false);
    second.conn.destroy();
    other.conn.destroy();
  });

  it('XEP-0386 §2.2: <inactive/> inline starts the session inactive (XEP-0352): presence is held, a message releases it first', async (t) => {
    const password = await user('dora');
    const { conn, result } = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256', username: 'dora', password, inline: bind2(undefined, `<inactive xmlns='${NS2.CSI}'/>`) });
    t.after(() => conn.destroy());
    const jid = result.identity ?? '';
    assert.match(jid, /^dora@localhost\/[A-Za-z0-9_-]+$/, 'no tag: a server-made resource');
    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('presence', { to: jid }, xml('status', {}, 'held back')));
    // Routed in order before bob's ping is answered (an IQ to dora herself would release it).
    await bob.ping();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!conn.text.includes('held back'), 'presence held while inactive');
    await bob.send(xml('message', { to: jid, type: 'chat' }, xml('body', {}, 'wake up')));
    const out = await conn.readUntil('wake up');
    assert.ok(out.indexOf('held back') >= 0 && out.indexOf('held back') < out.indexOf('wake up'));
  });

  it('wrong password: <failure/> with <not-authorized/>, nothing bound, the stream stays open for another try', async () => {
    await user('erin');
    const { conn, result } = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256', username: 'erin', password: 'wrong', inline: bind2('X') });
    assert.equal(result.success, false);
    assert.equal(result.condition, 'not-authorized');
    assert.match(result.final, /^<failure xmlns="urn:xmpp:sasl:2">/);
    assert.ok(!result.final.includes('bound'));
    const again = await sasl2Authenticate(conn, { mechanism: 'SCRAM-SHA-256', username: 'erin', password: pw.get('erin') ?? '' });
    assert.ok(again.success);
    assert.equal(again.identity, 'erin@localhost', 'no bind requested: the bare JID');
    assert.match(again.features ?? '', /<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"\/>/, 'RFC 6120 binding offered instead');
    conn.destroy();
  });

  it('channel binding: -PLUS with the wrong channel data fails; SCRAM carries the XEP-0474 downgrade-protection hash', async () => {
    const password = await user('fay');
    const bad = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256-PLUS', username: 'fay', password, cbData: Buffer.alloc(32, 7) });
    assert.equal(bad.result.condition, 'not-authorized');
    const challenge = Buffer.from(childText(`<x>${bad.result.transcript[0] ?? ''}</x>`, 'challenge') ?? '', 'base64').toString();
    assert.match(challenge, /,h=[A-Za-z0-9+/=]+$/);
    bad.conn.destroy();
  });

  it('every bad request gets a SASL2 <failure/> with its condition; anything but <response/> mid-exchange, or a second <authenticate/>, ends the stream', async () => {
    const password = await user('gus');
    const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
    const auth = (attrs: string, inner: string) => `<authenticate xmlns='${NS2.SASL2}' ${attrs}>${inner}</authenticate>`;
    const plain = Buffer.from(`\0gus\0${password}`).toString('base64');
    const ir = `<initial-response>${plain}</initial-response>`;
    const cases: [string, string, string][] = [
      [auth("mechanism='CRAM-MD5'", ir), 'invalid-mechanism', 'mechanism not offered'],
      [auth("mechanism='PLAIN' upgrade='UPGR-SCRAM-SHA-512'", ir), 'invalid-mechanism', 'upgrade not offered'],
      [auth("mechanism='PLAIN'", '<initial-response>not base64!</initial-response>'), 'incorrect-encoding', 'bad base64'],
      [auth("mechanism='PLAIN'", ir + ir), 'malformed-request', 'two initial responses'],
      [auth("mechanism='HT-SHA-256-NONE'", ir), 'malformed-request', 'a token login without <fast/>'],
      [auth("mechanism='PLAIN'", `${ir}<fast xmlns='${NS2.FAST}'/>`), 'malformed-request', '<fast/> with a password'],
      [auth("mechanism='PLAIN'", `${ir}<request-token xmlns='${NS2.FAST}' mechanism='HT-SHA-256-NONE'/>`), 'malformed-request', 'a token for no client (no user-agent id)'],
      [auth("mechanism='PLAIN'", `${ir}<user-agent id='${UA}'/><request-token xmlns='${NS2.FAST}' mechanism='HT-SHA-512-NONE'/>`), 'malformed-request', 'a token for a mechanism not offered'],
      [auth("mechanism='HT-SHA-256-NONE'", `${ir}<user-agent id='${UA}'/><fast xmlns='${NS2.FAST}' count='0'/>`), 'malformed-request', 'count not positive'],
      [auth("mechanism='PLAIN'", `${ir}<user-agent id=''/>`), 'malformed-request', 'an empty user-agent id'],
      [auth("mechanism='PLAIN'", `${ir}<bind xmlns='${NS2.BIND2}'><tag></tag></bind>`), 'malformed-request', 'an empty tag'],
      [auth("mechanism='PLAIN'", `${ir}<bind xmlns='${NS2.BIND2}'><tag>a</tag><tag>b</tag></bind>`), 'malformed-request', 'two tags'],
      [auth("mechanism='SCRAM-SHA-256'", ''), 'malformed-request', 'SCRAM without an initial response'],
      [`<response xmlns='${NS2.SASL2}'>AAAA</response>`, 'malformed-request', 'a response with no exchange'],
    ];
    for (const [sent, condition, what] of cases) {
      const reply = await exchange(conn, sent);
      assert.match(reply, new RegExp(`^<failure xmlns="urn:xmpp:sasl:2"><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`), `${what}: ${reply}`);
    }
    // <abort/> mid-exchange: <aborted/>.
    const first = Buffer.from('n,,n=gus,r=abcdefgh').toString('base64');
    assert.match(await exchange(conn, auth("mechanism='SCRAM-SHA-256'", `<initial-response>${first}</initial-response>`)), /^<challenge/);
    assert.match(await exchange(conn, `<abort xmlns='${NS2.SASL2}'/>`), /<aborted /);
    // §2.5: a stanza mid-exchange ends the stream.
    assert.match(await exchange(conn, auth("mechanism='SCRAM-SHA-256'", `<initial-response>${first}</initial-response>`)), /^<challenge/);
    await conn.send('<presence/>');
    await conn.readUntil(PATTERN.streamError);
    assert.equal(streamErrorCondition(conn.text), 'policy-violation');
    conn.destroy();
    // §3.8: a second <authenticate/> after success ends the stream.
    const done = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'PLAIN', username: 'gus', password });
    assert.ok(done.result.success);
    await done.conn.send(auth("mechanism='PLAIN'", ir));
    await done.conn.readUntil(PATTERN.streamError);
    assert.equal(streamErrorCondition(done.conn.text), 'policy-violation');
    done.conn.destroy();
  });

  it("§3.4: an authorization identity other than the stream's 'from' fails with <invalid-authzid/>", async () => {
    const password = await user('ida');
    const conn = await RawConnection.connect({ port: server.ports.c2s_starttls });
    await conn.openStream();
    await conn.startTls();
    await conn.openStream({ from: 'hal@localhost' });
    const asIda = (authzid: string) => `<authenticate xmlns='${NS2.SASL2}' mechanism='PLAIN'><initial-response>${Buffer.from(`${authzid}\0ida\0${password}`).toString('base64')}</initial-response></authenticate>`;
    assert.match(await exchange(conn, asIda('ida@localhost')), /<invalid-authzid /);
    // Without an authorization identity the 'from' is only a hint.
    assert.match(await exchange(conn, asIda('')), /^<success/);
    conn.destroy();
  });

  it('XEP-0198 inline: <resume/> in <authenticate/> gives <resumed/> in <success/> and the unacknowledged stanzas again; a failed one gives <failed/> and Bind 2 binds anew', async (t) => {
    const password = await user('hal');
    const bob = await server.connectClient(t, 'bob2');
    const first = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256', username: 'hal', password, inline: bind2('Mobile', `<enable xmlns='${NS2.SM}' resume='true'/>`) });
    const jid = first.result.identity ?? '';
    const previd = attrOf(first.result.final, 'enabled', 'id') ?? '';
    assert.ok(previd);
    await bob.send(xml('message', { to: jid, type: 'chat' }, xml('body', {}, 'in flight')));
    await first.conn.readUntil('in flight');
    first.conn.destroy();
    await first.conn.closed;

    const resumed = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256', username: 'hal', password, inline: `<resume xmlns='${NS2.SM}' previd='${previd}' h='0'/>${bind2('Mobile')}` });
    t.after(() => resumed.conn.destroy());
    assert.ok(resumed.result.success, resumed.result.final);
    assert.match(resumed.result.final, new RegExp(`<resumed xmlns="urn:xmpp:sm:3" previd="${previd}" h="0"/>`));
    assert.ok(!resumed.result.final.includes('<bound'), 'XEP-0386: a resumed session is not bound again');
    assert.equal(resumed.result.identity, jid, 'the same full JID');
    // The message the client never acknowledged comes again, after the features.
    await resumed.conn.readUntil('in flight');
    assert.ok(resumed.conn.text.indexOf('in flight') > resumed.conn.text.indexOf('</stream:features>'));

    const fresh = await sasl2Login({ port: server.ports.c2s_starttls, mechanism: 'SCRAM-SHA-256', username: 'hal', password, userAgentId: '0a3c9e52-0000-4000-8000-000000000003', inline: `<resume xmlns='${NS2.SM}' previd='no-such-session' h='0'/>${bind2('Desk')}` });
    t.after(() => fresh.conn.destroy());
    assert.match(fresh.result.final, /<failed xmlns="urn:xmpp:sm:3"><item-not-found /);
    assert.match(fresh.result.final, /<bound xmlns="urn:xmpp:bind:0"/);
    assert.match(fresh.result.identity ?? '', /^hal@localhost\/Desk\//);
  });

  it('stock xmpp.js logs in with SASL2, Bind 2 and XEP-0198 inline, asks for a FAST token, and logs in with it next time', async (t) => {
    const password = await user('ivy');
    const one = await server.connectClient(t, 'ivy', { password, sasl2: true, resource: 'xjs', userAgentId: UA });
    assert.match(String(one.jid), /^ivy@localhost\/xjs\//);
    const sm = (one.xmpp as unknown as { streamManagement: { enabled: boolean } }).streamManagement;
    assert.equal(sm.enabled, true, 'enabled inline');
    const fast = (one.xmpp as unknown as { fast: { fetchToken(): Promise<{ mechanism: string; token: string; expiry: string } | undefined> } }).fast;
    const token = await fast.fetchToken();
    assert.equal(token?.mechanism, 'HT-SHA-256-NONE');
    // The next login: the wrong password, but the token; the same client gets the same resource back.
    const two = await server.connectClient(t, 'ivy', { password: 'not the password', sasl2: true, resource: 'xjs', userAgentId: UA, ...(token ? { fastToken: token } : {}) });
    assert.equal(String(two.jid), String(one.jid));
    await one.waitFor(match.streamError('conflict'));
    await two.ping();
  });
});

describe('SASL2 keeps the SASL throttle', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { security: { failed_login_max_per_address: 3, failed_login_delay_after: 10 } } });
  });
  after(() => server.stop({ remove: true }));

  it('failed logins count the same in SASL and SASL2; past the limit the address is refused even with the right password', async () => {
    const password = await server.adduser('kim');
    const from = { port: server.ports.c2s_starttls, localAddress: '127.0.0.9' };
    await assert.rejects(rawLogin({ ...from, username: 'kim', password: 'wrong' }), /not-authorized/);
    for (let i = 0; i < 2; i++) {
      const { conn, result } = await sasl2Login({ ...from, mechanism: 'SCRAM-SHA-256', username: 'kim', password: 'wrong' });
      assert.equal(result.condition, 'not-authorized');
      conn.destroy();
    }
    const { conn, result } = await sasl2Login({ ...from, mechanism: 'SCRAM-SHA-256', username: 'kim', password });
    assert.equal(result.condition, 'temporary-auth-failure');
    assert.match(result.final, /Too many failed logins/);
    conn.destroy();
    // Another address is not affected.
    const other = await sasl2Login({ port: server.ports.c2s_starttls, localAddress: '127.0.0.10', mechanism: 'SCRAM-SHA-256', username: 'kim', password });
    assert.ok(other.result.success);
    other.conn.destroy();
  });
});
