// Discovery extras with slixmpp's own plugins: XEP-0157 contact addresses as a XEP-0128 form in
// the server's disco#info (xep_0030 + xep_0128), and XEP-0012 Last Activity (xep_0012): the
// server's uptime, and a user's only from memory, only for contacts, only while online.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectSlix, slixmppUnavailable, type SlixClient } from '../harness/slixmpp.ts';
import { xml, type TestClient } from '../harness/client.ts';

const skip = slixmppUnavailable();
type Forms = { type: string; fields: Record<string, string[]> }[];
type Last = { seconds?: number; error?: string; text?: string };

describe('disco extras and last activity (slixmpp)', { skip }, () => {
  let server: TestServer;
  let alice: SlixClient;
  let bob: TestClient;
  before(async () => {
    server = await startServer({
      config: {
        policy: {
          contact: 'admin@example.org',
          abuse_addresses: ['mailto:abuse@example.org', 'xmpp:abuse@example.org'],
          status_addresses: ['https://status.example.org/'],
        },
      },
    });
    const pw = await server.adduser('alice');
    alice = await connectSlix(undefined, { jid: 'alice@localhost', password: pw, port: server.ports.c2s_starttls, resource: 'slix' });
    await alice.sendPresence();
    bob = await server.connectClient(undefined, 'bob');
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await server.remove();
  });

  const last = async (jid: string): Promise<Last> => (await alice.command('last_activity', { jid })) as Last;

  it('XEP-0157: the serverinfo form, derived from policy.contact where not set', async () => {
    const r = await alice.command('disco_info_forms', { jid: 'localhost' });
    assert.ok((r['features'] as string[]).includes('jabber:iq:last'));
    const forms = r['forms'] as Forms;
    assert.equal(forms.length, 1);
    assert.equal(forms[0]?.type, 'result');
    assert.deepEqual(forms[0]?.fields, {
      FORM_TYPE: ['http://jabber.org/network/serverinfo'],
      'abuse-addresses': ['mailto:abuse@example.org', 'xmpp:abuse@example.org'],
      'admin-addresses': ['mailto:admin@example.org'],
      'security-addresses': ['mailto:admin@example.org'],
      'status-addresses': ['https://status.example.org/'],
      'support-addresses': ['mailto:admin@example.org'],
    });
  });

  it("XEP-0012 §5: the server's uptime", async () => {
    const r = await last('localhost');
    assert.equal(r.error, undefined);
    assert.ok(Number.isInteger(r.seconds) && (r.seconds ?? -1) >= 0 && (r.seconds ?? Infinity) < 3600, JSON.stringify(r));
  });

  it('XEP-0012 §4: only contacts, only while online (0, or the announced idle time); never a logout time', async () => {
    // Not a contact yet.
    await bob.send(xml('presence'));
    assert.equal((await last('bob@localhost')).error, 'forbidden');
    // alice subscribes; bob approves, so alice may see his presence (RFC 6121 §3).
    await alice.subscribe('bob@localhost');
    await bob.waitFor((s) => s.is('presence') && s.attrs['type'] === 'subscribe');
    await bob.send(xml('presence', { to: 'alice@localhost', type: 'subscribed' }));
    await alice.waitForStanza({ name: 'presence', from: 'bob@localhost', type: 'subscribed' });
    assert.equal((await last('bob@localhost')).seconds, 0);
    // XEP-0319: his client says it is idle since 90 s ago.
    await bob.send(xml('presence', {}, xml('idle', { xmlns: 'urn:xmpp:idle:1', since: new Date(Date.now() - 90_000).toISOString() })));
    await alice.waitFor((e) => e.event === 'stanza' && e.name === 'presence' && (e.from ?? '').startsWith('bob@localhost/') && e.xml.includes('urn:xmpp:idle:1'));
    const idle = (await last('bob@localhost')).seconds ?? 0;
    assert.ok(idle >= 90 && idle < 120, String(idle));
    // Offline: nothing is known.
    await bob.send(xml('presence', { type: 'unavailable' }));
    await alice.waitForStanza({ name: 'presence', from: 'bob@localhost', type: 'unavailable' });
    const offline = await last('bob@localhost');
    assert.equal(offline.error, 'service-unavailable');
    assert.match(offline.text ?? '', /keeps no record/);
    // No such account: the same as any stanza to it (RFC 6121 §8.5.1).
    assert.equal((await last('nobody@localhost')).error, 'service-unavailable');
  });
});
