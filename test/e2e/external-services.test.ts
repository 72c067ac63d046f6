// XEP-0215 External Service Discovery against a real coturn: the TURN credentials the server
// hands out (coturn's REST API convention: expiry as user name, HMAC-SHA1 of the shared secret as
// password) allow an allocation; a wrong or expired one is refused. Only this host's users get them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml, type TestClient } from '../harness/client.ts';
import { coturnUnavailable, startCoturn, tryAllocation, type Coturn } from '../harness/coturn.ts';

const NS = 'urn:xmpp:extdisco:2';
const skip = coturnUnavailable();

describe('XEP-0215 external services with coturn', { skip }, () => {
  let turn: Coturn;
  let server: TestServer;
  let alice: TestClient;
  before(async () => {
    turn = await startCoturn();
    server = await startServer({
      hosts: ['localhost', 'other.test'],
      modules: {
        'external-services': {
          services: [`stun:127.0.0.1:${turn.port}`, `turn:127.0.0.1:${turn.port}?transport=udp`],
          secret: turn.secret,
          credential_lifetime: '1h',
        },
      },
    });
    alice = await server.connectClient(undefined, 'alice');
  });
  after(async () => {
    await alice?.close();
    await server?.remove();
    await turn?.stop();
  });

  it('lists STUN and TURN; the TURN credentials allocate a relay on coturn, a wrong or expired one does not', async () => {
    const info = await alice.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), 'localhost');
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === NS));
    const services = await alice.iqGet(xml('services', NS), 'localhost');
    const [stun, turnService] = services.getChildren('service');
    assert.deepEqual(stun?.attrs, { type: 'stun', host: '127.0.0.1', port: String(turn.port), transport: 'udp' });
    const a = turnService?.attrs ?? {};
    assert.equal(a['type'], 'turn');
    assert.equal(a['restricted'], '1');
    assert.equal(a['transport'], 'udp');
    // The user name is the expiry (no JID in it), and 'expires' says the same in XEP-0082 form.
    const username = a['username'] ?? '';
    assert.match(username, /^\d+$/);
    assert.doesNotMatch(JSON.stringify(a), /alice/);
    assert.equal(a['expires'], new Date(Number(username) * 1000).toISOString().replace(/\.000Z$/, 'Z'));
    const lifetime = Number(username) - Date.now() / 1000;
    assert.ok(lifetime > 3500 && lifetime <= 3600, String(lifetime));

    const expired = String(Math.floor(Date.now() / 1000) - 60);
    const [ok, wrong, old] = await Promise.all([
      tryAllocation(turn.port, username, a['password'] ?? ''),
      tryAllocation(turn.port, username, createHmac('sha1', 'not the secret').update(username).digest('base64')),
      tryAllocation(turn.port, expired, createHmac('sha1', turn.secret).update(expired).digest('base64')),
    ]);
    assert.deepEqual([ok, wrong, old], ['allocated', 'refused', 'refused'], turn.output().slice(-2000));
  });

  it('filters by type; answers credentials requests; names bad ones', async () => {
    const onlyTurn = await alice.iqGet(xml('services', { xmlns: NS, type: 'turn' }), 'localhost');
    assert.equal(onlyTurn.attrs['type'], 'turn');
    assert.deepEqual(onlyTurn.getChildren('service').map((s) => s.attrs['type']), ['turn']);
    const creds = await alice.iqGet(xml('credentials', NS, xml('service', { host: '127.0.0.1', type: 'turn' })), 'localhost');
    const s = creds.getChild('service');
    assert.equal(s?.attrs['port'], String(turn.port));
    assert.equal(s?.attrs['password'], createHmac('sha1', turn.secret).update(s?.attrs['username'] ?? '').digest('base64'));
    await assert.rejects(alice.iqGet(xml('credentials', NS, xml('service', { host: 'turn.example.org', type: 'turn' })), 'localhost'), { condition: 'item-not-found' });
    await assert.rejects(alice.iqGet(xml('credentials', NS, xml('service', { type: 'turn' })), 'localhost'), { condition: 'bad-request' });
  });

  it("another host's user gets <forbidden/>", async () => {
    const carol = await server.connectClient(undefined, 'carol@other.test');
    try {
      await assert.rejects(carol.iqGet(xml('services', NS), 'localhost'), { condition: 'forbidden' });
      // Its own host offers them.
      const own = await carol.iqGet(xml('services', NS), 'other.test');
      assert.equal(own.getChildren('service').length, 2);
    } finally {
      await carol.close();
    }
  });
});
