// XEP-0077 in open mode with stock slixmpp: register before authentication, log in on the same
// stream, change the password in-band, remove the account in-band, register the name again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { slixmppUnavailable } from '../harness/slixmpp.ts';
import { connectClient, match, xml } from '../harness/client.ts';
import { SlixRegistrant } from './slix-register.ts';

const skip = slixmppUnavailable();

describe('in-band registration, open mode (slixmpp xep_0077)', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, roster: {}, register: { mode: 'open' } } });
  });
  after(() => server.stop());

  test('offers the stream feature; registers, logs in, changes the password, removes the account; the name is free at once', async (t) => {
    const s = new SlixRegistrant({ jid: `newbie@${server.domain}`, password: 'tundra-glib-orbit', port: server.ports.c2s_starttls });
    t.after(() => s.quit());
    const features = await s.next(['features']);
    // The features after TLS (the first ones only offer STARTTLS).
    let f = features;
    while (!/mechanisms/.test(f.xml ?? '')) f = await s.next(['features']);
    assert.match(f.xml ?? '', /<register xmlns="http:\/\/jabber.org\/features\/iq-register"/);
    const form = await s.next(['form']);
    assert.match(form.xml ?? '', /<username ?\/>/);
    assert.match(form.xml ?? '', /<password ?\/>/);
    assert.match(form.xml ?? '', /var="FORM_TYPE"[^>]*>\s*<value>jabber:iq:register<\/value>/);
    s.send({ cmd: 'submit_legacy' });
    await s.next(['registered']);
    // §3.1.1: a second identity on the same connection is refused.
    s.send({ cmd: 'submit_legacy', username: 'newbie2', password: 'tundra-glib-orbit' });
    assert.equal((await s.next(['registered', 'register_error'])).condition, 'not-acceptable');
    s.send({ cmd: 'continue' });
    const session = await s.next(['session', 'failed_auth']);
    assert.equal(session.event, 'session');

    // A user logged in meanwhile keeps chatting with the new account.
    const alice = await server.connectClient(t, 'alice');
    s.send({ cmd: 'message', to: alice.jid.toString(), body: 'hi from a new account' });
    await s.next(['ok']);
    await alice.waitFor(match.message(`newbie@${server.domain}`, 'hi from a new account'));

    // §3.3 password change: weak refused with a reason, a good one taken.
    s.send({ cmd: 'change_password', password: 'password1' });
    const weak = await s.next(['ok', 'iq_error']);
    assert.equal(weak.condition, 'not-acceptable');
    assert.match(weak.text ?? '', /common/);
    s.send({ cmd: 'change_password', password: 'glacier-pinwheel-42' });
    assert.equal((await s.next(['ok', 'iq_error'])).event, 'ok');
    const relogin = await connectClient({ port: server.ports.c2s_starttls, domain: server.domain, username: 'newbie', password: 'glacier-pinwheel-42' });
    await relogin.close();

    // §3.2 removal: the result, then a <not-authorized/> stream error; the name is free at once
    // (a second client waits at the registration form meanwhile).
    const again = new SlixRegistrant({ jid: `newbie@${server.domain}`, password: 'another-long-secret', port: server.ports.c2s_starttls });
    t.after(() => again.quit());
    await again.next(['form']);
    s.send({ cmd: 'remove' });
    // slixmpp may report the stream error before the result it read first (its handlers race).
    const outcome = [await s.next(['ok', 'iq_error', 'stream_error']), await s.next(['ok', 'iq_error', 'stream_error'])];
    assert.deepEqual(outcome.map((e) => e.event).sort(), ['ok', 'stream_error']);
    assert.equal(outcome.find((e) => e.event === 'stream_error')?.condition, 'not-authorized');
    const removedAt = Date.now();
    again.send({ cmd: 'submit_legacy' });
    await again.next(['registered']);
    assert.ok(Date.now() - removedAt < 1000, 'registered again within a second');
    again.send({ cmd: 'continue' });
    assert.equal((await again.next(['session', 'failed_auth'])).event, 'session');

    await alice.ping();
  });

  test('a taken name is a conflict; the rules refuse with a readable text', async (t) => {
    await server.adduser(`taken@${server.domain}`, 'some-long-secret');
    const s = new SlixRegistrant({ jid: `x@${server.domain}`, password: 'unused-password', port: server.ports.c2s_starttls });
    t.after(() => s.quit());
    await s.next(['form']);
    const tryWith = async (username: string, password: string) => {
      s.send({ cmd: 'submit_legacy', username, password });
      return s.next(['registered', 'register_error']);
    };
    const taken = await tryWith('taken', 'a-long-good-secret');
    assert.equal(taken.condition, 'conflict');
    // §9: the legacy code too (XEP-0086).
    assert.match(taken.xml ?? '', /<error[^>]* code="409"/);
    const reserved = await tryWith('admin', 'a-long-good-secret');
    assert.equal(reserved.condition, 'not-acceptable');
    assert.match(reserved.text ?? '', /reserved/);
    const long = await tryWith('a'.repeat(33), 'a-long-good-secret');
    assert.equal(long.condition, 'not-acceptable');
    assert.match(long.text ?? '', /longer than 32/);
    const short = await tryWith('shorty', 'abc12');
    assert.equal(short.condition, 'not-acceptable');
    assert.match(short.text ?? '', /at least 8/);
    const common = await tryWith('commoner', 'qwerty123');
    assert.equal(common.condition, 'not-acceptable');
    assert.match(common.text ?? '', /common/);
  });

  test('more than five attempts on one stream end it with policy-violation', async (t) => {
    const s = new SlixRegistrant({ jid: `y@${server.domain}`, password: 'unused-password', port: server.ports.c2s_starttls });
    t.after(() => s.quit());
    await s.next(['form']);
    for (let i = 0; i < 5; i++) {
      s.send({ cmd: 'submit_legacy', username: 'admin', password: 'a-long-good-secret' });
      assert.equal((await s.next(['registered', 'register_error'])).condition, 'not-acceptable');
    }
    s.send({ cmd: 'submit_legacy', username: 'admin', password: 'a-long-good-secret' });
    assert.equal((await s.next(['stream_error'])).condition, 'policy-violation');
  });

  test('the host advertises jabber:iq:register in disco#info', async (t) => {
    const c = await server.connectClient(t, 'discoverer');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), server.domain);
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === 'jabber:iq:register'));
  });
});
