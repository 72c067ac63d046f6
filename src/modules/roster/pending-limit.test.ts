// RFC 6121 §3.1.3 with a limit: requests from strangers beyond max_pending_requests are refused
// with an error the requester sees, never dropped silently.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { xml } from '../../../test/harness/client.ts';

describe('roster: pending subscription request limit', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { roster: { max_pending_requests: 1 } } });
  });
  after(() => server.remove());

  it('keeps the first stranger request and refuses the next with resource-constraint', async (t) => {
    await server.adduser('popular');
    const first = await server.connectClient(t, 'fan1');
    const second = await server.connectClient(t, 'fan2');
    await first.send(xml('presence', { to: 'popular@localhost', type: 'subscribe' }));
    await first.expectNone((e) => e.is('presence') && e.attrs['type'] === 'error', 400, 'an error for the first request');
    await second.send(xml('presence'));
    await second.send(xml('presence', { to: 'popular@localhost', type: 'subscribe' }));
    const err = await second.waitFor((e) => e.is('presence') && e.attrs['type'] === 'error' && e.attrs['from'] === 'popular@localhost');
    assert.ok(err.getChild('error')?.getChild('resource-constraint', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });
});
