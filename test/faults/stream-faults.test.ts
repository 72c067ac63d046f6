// Issue 7 §3: one bad stanza never takes down more than itself. A module whose hook throws fails
// only the stanza it was handling; a stream that has closed stops being routable at once, so a
// message sent in the gap before TCP closes is stored offline, never lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defineModule, type AnyModule } from '../../src/core/modules.ts';
import { match, xml } from '../harness/client.ts';
import { startInProcess, type InProcessServer } from '../harness/in-process.ts';
import { rawLogin } from '../harness/raw.ts';
import { startServer, type TestServer } from '../harness/server.ts';

/** A real module with a real bug: its inbound filter throws on one particular message. */
const faulty = defineModule({
  name: 'faulty',
  description: 'Throws from a hook on a message whose body is "boom" (fault tests only).',
  stores: {},
  enabledByDefault: false,
  xeps: [],
  options: {},
  setup(ctx) {
    ctx.hooks.on('stanza/inbound', ({ stanza }) => {
      if (stanza.name === 'message' && stanza.getChildText('body') === 'boom') throw new Error('a module bug');
      return false;
    });
  },
});

describe('a hook that throws fails only its stanza (issue 7 §3)', () => {
  let host: InProcessServer;
  before(async () => {
    host = await startInProcess([faulty as AnyModule]);
  });
  after(() => host.stop());

  it('the sender gets <internal-server-error/> for that stanza; its stream and everyone else go on', async () => {
    const alice = await host.login('alice');
    const bob = await host.login('bob');
    await bob.send(xml('presence'));
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'bad' }, xml('body', {}, 'boom')));
    const bounce = await alice.waitFor((e) => e.is('message') && e.attrs['id'] === 'bad' && e.attrs['type'] === 'error', 5000, 'the bounce');
    assert.ok(bounce.getChild('error')?.getChild('internal-server-error', 'urn:ietf:params:xml:ns:xmpp-stanzas'), bounce.toString());
    // The same stream carries the next message, and it arrives.
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'after the bug')));
    await bob.waitFor(match.message('alice@localhost', 'after the bug'));
    assert.equal(alice.isOnline, true);
  });
});

describe('a closed stream is not routable (issue 7 §3)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop({ remove: true }));

  it('a message sent between </stream:stream> and the TCP close is stored offline and delivered at the next login', async (t) => {
    const alice = await server.connectClient(t, 'alice');
    const bobPw = await server.adduser('bob');
    const bob = await rawLogin({ port: server.ports.c2s_starttls, username: 'bob', password: bobPw, resource: 'phone' });
    await bob.conn.send('<presence/>');
    await bob.conn.readUntil('<presence');
    // Bob ends his stream but keeps his side of TCP open: the gap in question. The server's own
    // closing tag says it has processed his.
    await bob.conn.send('</stream:stream>');
    await bob.conn.readUntil('</stream:stream>');
    await alice.send(xml('message', { to: bob.jid ?? '', type: 'chat' }, xml('body', {}, 'in the gap')));
    // Barrier: the reply to a later ping means the message has been routed (RFC 6120 §10.1 order).
    await alice.iqCaller.get(xml('ping', 'urn:xmpp:ping'), 'localhost');
    assert.equal(alice.received.filter((e) => e.is('message') && e.attrs['type'] === 'error').length, 0, 'no bounce: it was stored');
    bob.conn.destroy();
    const again = await server.connectClient(t, 'bob');
    await again.send(xml('presence'));
    await again.waitFor(match.message('alice@localhost', 'in the gap'));
  });
});
