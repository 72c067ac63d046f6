// Privacy promises, proven on the raw bytes: after full sessions from real clients, the database,
// its WAL and every log contain no password, no body of a delivered message and no IP address.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { connectSlix, slixmppUnavailable } from '../harness/slixmpp.ts';

const PASSWORDS = { alice: 'PwMarker-alice-6f1e', bob: 'PwMarker-bob-93ac', carol: 'PwMarker-carol-2d77', dave: 'PwMarker-dave-c41b' };
const BODIES = ['BodyMarker-online-5be2', 'BodyMarker-reply-0a9d', 'BodyMarker-offline-77f3', 'BodyMarker-slix-e810'] as const;
/** IPv4 dotted quads and the IPv6 forms a loopback peer shows up as. */
const IP_PATTERNS = [/(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/, /::ffff:/i, /(?<![\w:])::1(?![\w:])/];

describe('privacy: no secrets at rest or in logs', () => {
  let server: TestServer;
  let files: { path: string; text: string }[] = [];
  /** The scanned files; never an empty list, so no check below can pass vacuously. */
  const scanned = () => {
    assert.ok(files.length > 0, 'the session run produced files to scan');
    return files;
  };

  before(async () => {
    server = await startServer({ users: Object.entries(PASSWORDS).map(([u, p]) => [`${u}@localhost`, p] as [string, string]) });
  });
  after(() => server.remove());

  it('runs full sessions with marker passwords and bodies', async (t) => {
    const alice = await server.connectClient(t, 'alice', { mechanism: 'SCRAM-SHA-1' });
    const bob = await server.connectClient(t, 'bob', { mechanism: 'PLAIN' });
    await alice.send(xml('presence'));
    await bob.send(xml('presence'));
    // A failed login with a marker password must leave no trace of the password either.
    await assert.rejects(server.connectClient(t, 'alice', { password: 'PwMarker-wrong-1111' }));

    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, BODIES[0])));
    await bob.waitFor(match.message('alice@localhost', BODIES[0]));
    await bob.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('body', {}, BODIES[1])));
    await alice.waitFor(match.message('bob@localhost', BODIES[1]));

    // Offline: stored while carol is away, delivered at her login, then deleted.
    await alice.send(xml('message', { to: 'carol@localhost', type: 'chat' }, xml('body', {}, BODIES[2])));
    await new Promise((r) => setTimeout(r, 300));
    const carol = await server.connectClient(t, 'carol');
    await carol.send(xml('presence'));
    await carol.waitFor(match.message('alice@localhost', BODIES[2]));

    if (!slixmppUnavailable()) {
      const dave = await connectSlix(t, { jid: 'dave@localhost', password: PASSWORDS.dave, port: server.ports.c2s_starttls });
      await dave.sendPresence();
      await dave.sendMessage('alice@localhost', BODIES[3]);
      await alice.waitFor(match.message('dave@localhost', BODIES[3]));
      await dave.close();
    }
    await Promise.all([alice.close(), bob.close(), carol.close()]);
    await server.stop();
    files = listFiles(server.dataDir).map((path) => ({ path, text: readFileSync(path).toString('latin1') }));
  });

  it('covers the database, its WAL and the logs', () => {
    const names = scanned().map((f) => f.path);
    assert.ok(names.some((n) => n.endsWith('.sqlite')), 'database file present');
    assert.ok(names.some((n) => n.endsWith('jabberx.log')), 'log file present');
    assert.ok(files.find((f) => f.path.endsWith('jabberx.log'))?.text.includes('"level":"debug"'), 'debug logging was on');
  });

  it('stores and logs no password', () => {
    for (const f of scanned()) for (const pw of [...Object.values(PASSWORDS), 'PwMarker-wrong-1111']) assert.ok(!f.text.includes(pw), `${pw} found in ${f.path}`);
  });

  it('stores and logs no body of a delivered message', () => {
    for (const f of scanned()) for (const body of BODIES) assert.ok(!f.text.includes(body), `${body} found in ${f.path}`);
  });

  it('stores and logs no IP address', () => {
    for (const f of scanned()) {
      if (f.path.includes('/certs/')) continue; // PEM: base64, no addresses
      for (const re of IP_PATTERNS) assert.ok(!re.test(f.text), `${re} matches ${f.path}: ${re.exec(f.text)?.[0]}`);
    }
  });
});
