// Stock go-sendxmpp (Go's own XMPP and TLS stacks) against the real server: it sends a chat
// message that @xmpp/client receives and prints one it receives in listen mode, over STARTTLS
// (RFC 6120 §5) and direct TLS (XEP-0368), verifying the certificate as it would for any user.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { goSendxmppUnavailable, listen, runGoSendxmpp, sendChatMessage, type GoSendxmppAccount } from '../harness/go-sendxmpp.ts';

const ALICE_PW = 'pw-alice-go-sendxmpp-1';

describe('go-sendxmpp, a stock Go client', { skip: goSendxmppUnavailable() }, () => {
  let server: TestServer;
  const alice = (directTls: boolean): GoSendxmppAccount => ({
    jid: 'alice@localhost',
    password: ALICE_PW,
    port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls,
    directTls,
  });

  before(async () => {
    server = await startServer({ users: [['alice@localhost', ALICE_PW]] });
  });
  after(async () => {
    await server?.remove();
  });

  for (const directTls of [false, true]) {
    const how = directTls ? 'direct TLS (-t)' : 'STARTTLS';

    it(`sends a chat message that @xmpp/client receives, over ${how}`, { timeout: 30_000 }, async (t) => {
      const bob = await server.connectClient(t, 'bob');
      await bob.send(xml('presence'));
      const text = `from go-sendxmpp over ${how}: ünïcode & <markup>`;
      await sendChatMessage(alice(directTls), 'bob@localhost', text);
      const msg = await bob.waitFor(match.message('alice@localhost', text), 10_000, 'the go-sendxmpp message');
      assert.match(String(msg.attrs['from']), /^alice@localhost\/./, 'from the full JID go-sendxmpp bound');
    });

    it(`prints a message it receives in listen mode (-l), over ${how}`, { timeout: 30_000 }, async (t) => {
      const listener = await listen(t, alice(directTls));
      assert.match(listener.jid, /^alice@localhost\/./);
      const bob = await server.connectClient(t, 'bob');
      const text = `to the listener over ${how}`;
      await bob.send(xml('message', { to: listener.jid, type: 'chat' }, xml('body', {}, text)));
      const got = await listener.waitForMessage((m) => m.body === text, 10_000, `"${text}"`);
      assert.equal(got.from.split('/')[0], 'bob@localhost');
      await listener.stop();
    });
  }

  it('refuses the server when the test CA is not trusted: its verification is real', { timeout: 30_000 }, async () => {
    const res = await runGoSendxmpp({ ...alice(true), trustTestCa: false }, ['bob@localhost'], 'never sent');
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /x509|certificate/i);
  });
});
