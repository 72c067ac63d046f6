// Issue 8: the router's domain table. Account domains, service domains a module claims (with
// every JID under them), and remote domains, which bounce with <remote-server-not-found/> until
// federation lands. And ctx.deliver: a module can't get a stanza past the account's filters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defineModule, type AnyModule } from '../src/core/modules.ts';
import { StanzaError } from '../src/core/errors.ts';
import { el } from '../src/core/xml/element.ts';
import { match, xml } from './harness/client.ts';
import { startInProcess, type InProcessServer } from './harness/in-process.ts';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** A service on echo.<host>: echoes messages, answers IQs with the JID they were sent to. */
const echo = defineModule({
  name: 'echo-service',
  description: 'Echoes on echo.<host> (domain table tests).',
  stores: {},
  enabledByDefault: false,
  options: {},
  setup(ctx) {
    ctx.services.claim(`echo.${ctx.host}`, async (stanza, from, to) => {
      if (stanza.name === 'message') {
        await ctx.route(el('message', { from: to.toString(), to: from.toString(), type: 'chat' }, el('body', {}, `echo: ${stanza.getChildText('body') ?? ''}`)));
      } else if (stanza.name === 'iq' && stanza.attrs['type'] === 'get') {
        await ctx.route(el('iq', { type: 'result', id: stanza.attrs['id'], from: to.toString(), to: from.toString() }, el('query', { xmlns: 'urn:test:echo', jid: to.toString() })));
      } else if (stanza.name === 'iq') {
        throw new StanzaError('not-allowed', 'This service only reads');
      }
    });
  },
});

/** A module that hands a stanza to a session through ctx.deliver, as roster pushes do. */
const courier = defineModule({
  name: 'courier',
  description: 'Delivers a message "from" a given JID to the asking session (domain table tests).',
  stores: {},
  enabledByDefault: false,
  options: {},
  setup(ctx) {
    ctx.iq.set('host', 'urn:test:courier', 'send', async ({ payload, origin }) => {
      if (!origin) throw new StanzaError('bad-request');
      const from = payload.attrs['from'] ?? '';
      await ctx.deliver(el('message', { from, to: origin.jid.toString(), type: 'chat' }, el('body', {}, payload.attrs['body'] ?? '')), origin);
      return undefined;
    });
  },
});

describe('the domain table and delivery (issue 8)', () => {
  let host: InProcessServer;
  before(async () => {
    host = await startInProcess([echo as AnyModule, courier as AnyModule]);
  });
  after(() => host.stop());

  it('a claimed service domain gets stanzas to itself and to any JID under it', async () => {
    const alice = await host.login('alice');
    await alice.send(xml('message', { to: 'echo.localhost', type: 'chat' }, xml('body', {}, 'hello')));
    await alice.waitFor(match.message('echo.localhost', 'echo: hello'));
    const seen = await alice.iqGet(xml('query', 'urn:test:echo'), 'room@echo.localhost/nick');
    assert.equal(seen.attrs['jid'], 'room@echo.localhost/nick');
  });

  it("a service's StanzaError goes back to the sender", async () => {
    const alice = await host.login('alice2');
    await assert.rejects(alice.iqSet(xml('query', 'urn:test:echo'), 'echo.localhost'), (e: Error & { condition?: string }) => e.condition === 'not-allowed');
  });

  it('remote and unclaimed domains bounce with <remote-server-not-found/>', async () => {
    const alice = await host.login('alice3');
    for (const to of ['someone@remote.example', 'nothing.localhost']) {
      await alice.send(xml('message', { to, type: 'chat', id: `m-${to}` }, xml('body', {}, 'hi')));
      const bounce = await alice.waitFor((e) => e.is('message') && e.attrs['id'] === `m-${to}` && e.attrs['type'] === 'error', 5000, `the bounce from ${to}`);
      assert.ok(bounce.getChild('error')?.getChild('remote-server-not-found', NS_STANZAS), bounce.toString());
    }
  });

  it("ctx.deliver runs the account's inbound filters: a module can't deliver what the user blocks", async () => {
    const carol = await host.login('carol');
    await carol.iqSet(xml('block', 'urn:xmpp:blocking', xml('item', { jid: 'spammer@localhost' })));
    await carol.iqSet(xml('send', { xmlns: 'urn:test:courier', from: 'spammer@localhost', body: 'buy now' }), 'localhost');
    await carol.iqSet(xml('send', { xmlns: 'urn:test:courier', from: 'friend@localhost', body: 'hello' }), 'localhost');
    await carol.waitFor(match.message('friend@localhost', 'hello'));
    await carol.expectNone(match.message('spammer@localhost'), 500, 'a message from a blocked JID');
  });
});
