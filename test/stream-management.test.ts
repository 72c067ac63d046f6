// XEP-0198 Stream Management: acks both ways, resumption after the connection is cut with
// stanzas in flight (every one arrives exactly once), and what a session that never resumes does
// with what its client never acknowledged (offline storage, not loss).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { match, xml } from './harness/client.ts';
import { rawLogin, type RawConnection } from './harness/raw.ts';

const NS_SM = 'urn:xmpp:sm:3';

/** Logs in with the raw client (no bind yet when `bind` is false). */
async function login(server: TestServer, user: string, bind = true): Promise<{ conn: RawConnection; jid: string | undefined }> {
  const password = server.passwords.get(`${user}@${server.domain}`) ?? (await server.adduser(user));
  const s = await rawLogin({ port: server.ports.c2s_starttls, username: user, password, skipBind: !bind, resource: 'phone' });
  return { conn: s.conn, jid: s.jid };
}

/** Bodies of the messages in `text`, in order. */
function bodies(text: string): string[] {
  return [...text.matchAll(/<body>([^<]*)<\/body>/g)].map((m) => m[1] ?? '');
}

describe('XEP-0198 Stream Management', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop({ remove: true }));

  it('§2-§3: offered after authentication; stock @xmpp/client enables it and chats', async (t) => {
    const a = await server.connectClient(t, 'smuser');
    const b = await server.connectClient(t, 'smpeer');
    const sm = (a.xmpp as unknown as { streamManagement: { enabled: boolean; id: string } }).streamManagement;
    assert.equal(sm.enabled, true);
    assert.ok(sm.id.length > 0, 'resumable: the server gave an id');
    await b.send(xml('presence'));
    for (let i = 0; i < 30; i++) await a.send(xml('message', { to: b.jid.toString(), type: 'chat' }, xml('body', {}, `m${String(i)}`)));
    await b.waitFor(match.message(a.jid.bare().toString(), 'm29'));
  });

  it('§4: <r/> is answered with the count of handled stanzas; the server asks for acks itself', async () => {
    const { conn } = await login(server, 'counter');
    await conn.send(`<enable xmlns='${NS_SM}'/>`);
    await conn.readUntil(/<enabled[^>]*\/>/);
    await conn.send(`<presence/><iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq><r xmlns='${NS_SM}'/>`);
    const a = await conn.readUntil(/<a [^>]*\/>/);
    assert.match(a, /h=['"]2['"]/);
    // The server's own stanzas (presence echo, ping result) are followed by its <r/>.
    await conn.readUntil(/<r xmlns=['"]urn:xmpp:sm:3['"]\/>/, 5000);
    conn.destroy();
  });

  it('§4: acknowledging more than was sent ends the stream with <handled-count-too-high/>', async () => {
    const { conn } = await login(server, 'liar');
    await conn.send(`<enable xmlns='${NS_SM}'/>`);
    await conn.readUntil(/<enabled[^>]*\/>/);
    await conn.send(`<a xmlns='${NS_SM}' h='99'/>`);
    const err = await conn.readUntil(/<\/stream:error>/);
    assert.match(err, /undefined-condition/);
    assert.match(err, /handled-count-too-high/);
    conn.destroy();
  });

  it('§5: resumption after the connection is cut with stanzas in flight both ways: each arrives exactly once', async (t) => {
    const sender = await server.connectClient(t, 'sender5');
    const first = await login(server, 'mobile');
    const { conn } = first;
    await conn.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await conn.readUntil(/<enabled[^>]*\/>/);
    const previd = /id=['"]([^'"]+)['"]/.exec(enabled)?.[1] ?? '';
    assert.ok(previd);
    await conn.send('<presence/>');
    for (let i = 1; i <= 3; i++) await sender.send(xml('message', { to: first.jid ?? '', type: 'chat' }, xml('body', {}, `before ${String(i)}`)));
    await conn.readUntil('before 3');
    // The client has seen three messages and acknowledged none; it sends one more of its own, then
    // the connection dies.
    await conn.send(`<message to='${sender.jid.toString()}' type='chat'><body>from the phone</body></message>`);
    await sender.waitFor(match.message('mobile@localhost', 'from the phone'));
    conn.destroy();
    await conn.closed;
    // Meanwhile two more arrive for the detached session.
    for (let i = 1; i <= 2; i++) await sender.send(xml('message', { to: first.jid ?? '', type: 'chat' }, xml('body', {}, `while away ${String(i)}`)));
    await sender.ping();

    const second = await login(server, 'mobile', false);
    // The client processed two stanzas (its own presence, echoed, and the first message): the
    // rest comes again.
    await second.conn.send(`<resume xmlns='${NS_SM}' previd='${previd}' h='2'/>`);
    const resumed = await second.conn.readUntil(/<resumed[^>]*\/>/);
    // The server handled the client's presence and its message: h=2.
    assert.match(resumed, /h=['"]2['"]/);
    await second.conn.readUntil('while away 2');
    assert.deepEqual(bodies(second.conn.text), ['before 2', 'before 3', 'while away 1', 'while away 2']);
    // The session is the same full JID, and it is live.
    await sender.send(xml('message', { to: first.jid ?? '', type: 'chat' }, xml('body', {}, 'after')));
    await second.conn.readUntil('after');
    second.conn.destroy();
  });

  it("§5: another account's stream id is refused with <item-not-found/>", async () => {
    const victim = await login(server, 'victim');
    await victim.conn.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const previd = /id=['"]([^'"]+)['"]/.exec(await victim.conn.readUntil(/<enabled[^>]*\/>/))?.[1] ?? '';
    const thief = await login(server, 'thief', false);
    await thief.conn.send(`<resume xmlns='${NS_SM}' previd='${previd}' h='0'/>`);
    const failed = await thief.conn.readUntil(/<\/failed>|<failed[^>]*\/>/);
    assert.match(failed, /item-not-found/);
    victim.conn.destroy();
    thief.conn.destroy();
  });
});

describe('XEP-0198: a session that is never resumed', () => {
  it('limits.sm_resume_timeout: its unacknowledged messages are stored offline and delivered at the next login', async (t) => {
    const server = await startServer({ config: { limits: { sm_resume_timeout: '1s' } } });
    t.after(() => server.stop({ remove: true }));
    const sender = await server.connectClient(t, 'writer');
    const password = await server.adduser('traveller');
    const s = await rawLogin({ port: server.ports.c2s_starttls, username: 'traveller', password, resource: 'phone' });
    await s.conn.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    await s.conn.readUntil(/<enabled[^>]*\/>/);
    await s.conn.send('<presence/>');
    await sender.send(xml('message', { to: s.jid ?? '', type: 'chat' }, xml('body', {}, 'never acknowledged')));
    await s.conn.readUntil('never acknowledged');
    s.conn.destroy();
    await new Promise((r) => setTimeout(r, 2500));
    const again = await server.connectClient(t, 'traveller', { password });
    await again.send(xml('presence'));
    await again.waitFor(match.message('writer@localhost', 'never acknowledged'));
  });
});


describe('XEP-0198: a message counts as handled once it is out of the server\'s hands', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop({ remove: true }));

  async function smSession(user: string): Promise<{ conn: RawConnection; jid: string }> {
    const { conn, jid } = await login(server, user);
    await conn.send(`<enable xmlns='${NS_SM}' resume='true'/><presence/>`);
    await conn.readUntil(/<enabled[^>]*\/>/);
    return { conn, jid: jid ?? '' };
  }

  it('acked to its sender when the recipient acknowledges it, unasked (§4 "MAY send <a/> at any time")', async () => {
    const sender = await smSession('acksender');
    const recipient = await smSession('ackrecipient');
    await recipient.conn.readUntil(/<presence[^>]*\/>/);
    await sender.conn.send(`<message to='${recipient.jid}' type='chat' id='m1'><body>held</body></message><r xmlns='${NS_SM}'/>`);
    await recipient.conn.readUntil('held');
    // The recipient has not acknowledged it yet: the sender hears of its presence only.
    const first = await sender.conn.readUntil(/<a [^>]*\/>/);
    assert.match(first, /h=['"]1['"]/);
    // The recipient acknowledges everything it got (its presence echo, the message).
    await recipient.conn.send(`<a xmlns='${NS_SM}' h='2'/>`);
    const rest = sender.conn.text.length;
    await sender.conn.readUntil(/<a [^>]*h=['"]2['"][^>]*\/>/);
    assert.ok(sender.conn.text.length > rest);
    sender.conn.destroy();
    recipient.conn.destroy();
  });

  it('acked once stored offline, or once its bounce reached the sender', async () => {
    const sender = await smSession('acksender2');
    await server.adduser('sleeper');
    await sender.conn.send(`<message to='sleeper@localhost' type='chat' id='o1'><body>for later</body></message><message to='nobody@localhost' type='chat' id='b1'><body>nobody</body></message><r xmlns='${NS_SM}'/>`);
    // Stored: handled. The bounce is handled once the sender has it (its echoed presence and the error).
    await sender.conn.readUntil(/<message[^>]*type=['"]error['"]/);
    await sender.conn.readUntil(/<a [^>]*h=['"]2['"][^>]*\/>/);
    await sender.conn.send(`<a xmlns='${NS_SM}' h='2'/>`);
    await sender.conn.readUntil(/<a [^>]*h=['"]3['"][^>]*\/>/);
    sender.conn.destroy();
  });

  it('offline messages stay stored until the client acknowledges them', async (t) => {
    const writer = await server.connectClient(t, 'offwriter');
    const password = await server.adduser('forgetful');
    await writer.send(xml('message', { to: 'forgetful@localhost', type: 'chat' }, xml('body', {}, 'stored once')));
    await writer.ping();
    // A session with stream management gets it, never acknowledges it, and its connection dies.
    const s = await rawLogin({ port: server.ports.c2s_starttls, username: 'forgetful', password, resource: 'phone' });
    await s.conn.send(`<enable xmlns='${NS_SM}'/><presence/>`);
    await s.conn.readUntil('stored once');
    s.conn.destroy();
    await s.conn.closed;
    // The next login gets it again.
    const again = await server.connectClient(t, 'forgetful', { password });
    await again.send(xml('presence'));
    await again.waitFor(match.message('offwriter@localhost', 'stored once'));
  });
});
