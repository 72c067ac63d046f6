// What `jabberx debug on` shows (issue 13): stream opens and closes, each stanza's top tag (name,
// type, the first child's name and namespace), the SASL steps (mechanism, outcome) and stream
// errors — and never a message body, a password (PLAIN carries it base64-encoded) or an address.
// Read as raw bytes after real sessions of the stock @xmpp/client and a raw client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import { connectSecured, PATTERN } from '../harness/raw.ts';

const BODY = 'BodyMarker-5d21e7';
const PASSWORD = 'PwMarker-93af04';
const WRONG = 'WrongPwMarker-1c77';

describe('the debug log', () => {
  let server: TestServer;
  let lines: Array<Record<string, unknown>> = [];
  let raw: Buffer;
  const debugFile = () => join(server.dataDir, 'debug.log');
  const has = (match: Record<string, unknown>) => lines.some((l) => Object.entries(match).every(([k, v]) => l[k] === v));

  before(async () => {
    server = await startServer({ users: [['alice@localhost', PASSWORD], ['bob@localhost', 'pw-bob']], config: { log: { level: 'info' } } });
    assert.equal((await server.cli(['debug', 'on'])).code, 0);
  });
  after(() => server.remove());

  it('records a real session: streams, SASL steps, top tags, a stream error', async (t) => {
    const bob = await server.connectClient(t, 'bob');
    const alice = await server.connectClient(t, 'alice', { mechanism: 'PLAIN' });
    await alice.send(xml('message', { to: bob.jid.toString(), type: 'chat', id: 'm1' }, xml('body', {}, BODY)));
    await bob.waitFor((e) => e.is('message') && e.getChildText('body') === BODY);
    await alice.iqGet(xml('query', 'jabber:iq:roster'));
    await server.connectClient(t, 'alice', { password: WRONG, mechanism: 'PLAIN' }).then(() => assert.fail('logged in'), () => undefined);
    await alice.close();
    // A stream error: bytes that are not XML.
    const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
    await conn.send('<message><<</message>');
    await conn.readUntil(PATTERN.streamError);
    conn.destroy();
    await new Promise((r) => setTimeout(r, 300));

    raw = readFileSync(debugFile());
    lines = raw.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(has({ msg: 'connection opened' }));
    assert.ok(has({ msg: 'stream opened', dir: 'in', to: 'localhost' }));
    assert.ok(has({ msg: 'stream opened', dir: 'out', from: 'localhost' }));
    assert.ok(has({ msg: 'element', dir: 'in', tag: 'starttls' }));
    assert.ok(has({ msg: 'TLS established', host: 'localhost' }));
    assert.ok(has({ msg: 'sasl', dir: 'in', tag: 'auth', mechanism: 'SCRAM-SHA-1' }), 'the mechanism');
    assert.ok(has({ msg: 'sasl', dir: 'out', tag: 'challenge' }));
    assert.ok(has({ msg: 'sasl', dir: 'out', tag: 'success' }), 'the outcome');
    assert.ok(has({ msg: 'sasl', dir: 'in', tag: 'auth', mechanism: 'PLAIN' }));
    assert.ok(has({ msg: 'sasl', dir: 'out', tag: 'failure', condition: 'not-authorized' }), 'a failed login');
    assert.ok(has({ msg: 'stream restart' }));
    assert.ok(has({ msg: 'element', dir: 'in', tag: 'iq', type: 'set', child: 'bind', childNs: 'urn:ietf:params:xml:ns:xmpp-bind' }));
    assert.ok(has({ msg: 'element', dir: 'in', tag: 'message', type: 'chat', id: 'm1', child: 'body' }), 'the message by its top tag');
    assert.ok(has({ msg: 'element', dir: 'out', tag: 'message', type: 'chat', id: 'm1' }), 'its delivery to bob');
    assert.ok(has({ msg: 'element', dir: 'in', tag: 'iq', type: 'get', child: 'query', childNs: 'jabber:iq:roster' }));
    assert.ok(has({ msg: 'element', dir: 'out', tag: 'iq', type: 'result' }));
    assert.ok(has({ msg: 'stream closed', dir: 'in' }));
    assert.ok(has({ msg: 'stream closed', dir: 'out' }));
    assert.ok(has({ msg: 'stream error', dir: 'out', condition: 'not-well-formed' }));
    assert.ok(has({ msg: 'connection closed' }));
  });

  it('holds no body, password (plain or base64) or address, and the main log stays at info', () => {
    const forbidden = [BODY, PASSWORD, WRONG, Buffer.from(`\0alice\0${PASSWORD}`).toString('base64'), Buffer.from(`\0alice\0${WRONG}`).toString('base64'), '127.0.0.1'];
    for (const needle of forbidden) assert.equal(raw.includes(needle), false, `${needle} in the debug log`);
    const main = readFileSync(server.logFile, 'utf8');
    assert.doesNotMatch(main, /"level":"debug"/);
  });

  it('is deleted when debug logging is switched off', async () => {
    assert.equal((await server.cli(['debug', 'off'])).code, 0);
    assert.equal(existsSync(debugFile()), false);
  });
});
