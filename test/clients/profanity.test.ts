// Stock profanity (libstrophe + OpenSSL) against the real server, typed into a tmux terminal as a
// person would: it logs in, sends a chat message that @xmpp/client receives, and shows one it
// receives on its screen; over STARTTLS and direct TLS (XEP-0368, profanity's `tls legacy`).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { Profanity, profanityUnavailable } from '../harness/profanity.ts';

const ALICE_PW = 'pw-alice-profanity-1';

describe('profanity, a stock terminal client', { skip: profanityUnavailable() }, () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ users: [['alice@localhost', ALICE_PW]] });
  });
  after(async () => {
    await server?.remove();
  });

  const start = (t: Parameters<typeof Profanity.start>[0], directTls: boolean, trustTestCa = true): Promise<Profanity> =>
    Profanity.start(t, {
      jid: 'alice@localhost',
      password: ALICE_PW,
      port: directTls ? server.ports.c2s_direct_tls : server.ports.c2s_starttls,
      directTls,
      trustTestCa,
    });

  for (const directTls of [false, true]) {
    const how = directTls ? 'direct TLS (tls legacy)' : 'STARTTLS (tls force)';

    it(`logs in, sends a message @xmpp/client receives and shows one it receives, over ${how}`, { timeout: 30_000 }, async (t) => {
      const bob = await server.connectClient(t, 'bob');
      await bob.send(xml('presence'));
      const profanity = await start(t, directTls);
      await profanity.connect();

      const out = `hello bob from profanity over ${directTls ? 'direct TLS' : 'STARTTLS'}`;
      await profanity.sendMessage('bob@localhost', out);
      const msg = await bob.waitFor(match.message('alice@localhost', out), 10_000, 'the profanity message');
      const from = String(msg.attrs['from']);
      assert.match(from, /^alice@localhost\/./);

      // Bob answers the resource that wrote, as clients do once a conversation has started.
      const back = `answer for profanity ${String(Date.now())}`;
      await bob.send(xml('message', { to: from, type: 'chat' }, xml('body', {}, back)));
      await profanity.waitForText(`bob@localhost/${bob.jid.resource}: ${back}`);

      await profanity.quit();
    });
  }

  it('asks about the certificate when the test CA is not trusted: its verification is real', { timeout: 30_000 }, async (t) => {
    const profanity = await start(t, false, false);
    await assert.rejects(profanity.connect(), /TLS certificate verification failed/);
    await profanity.waitForText(/Use '\/tls deny' to reject this certificate/);
  });
});
