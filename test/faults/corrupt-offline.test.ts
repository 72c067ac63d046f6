// A damaged offline message must not lock its account out (issue 7 A): one sealed row whose bytes
// changed on disk is skipped and counted (quarantined); the login succeeds, the good messages
// arrive in order, and the damaged row goes with them. Real server process, real database file.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { offlineCount, withStorage } from '../harness/store.ts';
import { until } from '../harness/eventually.ts';

const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));

function dbPath(server: TestServer): string {
  return join(server.dataDir, 'jabberx.sqlite');
}

/** Ids of juliet's stored offline messages, oldest first, through the store API. */
function offlineIds(server: TestServer): Promise<string[]> {
  return withStorage(server, async (s) => (await s.archive(server.domain, 'offline').list('juliet')).map((e) => e.id));
}

describe('a damaged offline message (quarantine)', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('is skipped and counted; the login succeeds and the good messages arrive', async (t) => {
    const first = await startServer({ modules: ['offline'] });
    servers.push(first);
    const julietPw = await first.adduser('juliet');
    const romeoPw = await first.adduser('romeo');
    const romeo = await first.connectClient(t, 'romeo');
    for (const body of ['one', 'two (damaged on disk)', 'three']) await romeo.send(chat('juliet@localhost', body));
    await until('three stored messages', async () => (await offlineIds(first)).length === 3, 5000);
    await romeo.close();
    await first.stop();

    // Flip one byte inside the ciphertext of the middle message, as a bad disk sector or a
    // careless hand edit would: an edit of the raw file, so SQL on the file itself.
    const middle = Number((await offlineIds(first))[1]);
    const raw = new DatabaseSync(dbPath(first));
    try {
      const row = raw.prepare('SELECT value FROM archive WHERE id = ?').get(middle);
      const bytes = Buffer.from(row?.['value'] as Uint8Array);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0x40;
      raw.prepare('UPDATE archive SET value = ? WHERE id = ?').run(bytes, middle);
    } finally {
      raw.close();
    }

    const server = await startServer({ root: first.root, modules: ['offline'] });
    servers.push(server);
    const juliet = await server.connectClient(t, 'juliet', { password: julietPw });
    await juliet.send(xml('presence'));
    const one = await juliet.waitFor(match.message('romeo@localhost', 'one'), 5000, 'the first message');
    const three = await juliet.waitFor(match.message('romeo@localhost', 'three'), 5000, 'the third message');
    assert.ok(juliet.received.indexOf(one) < juliet.received.indexOf(three), 'in order');
    await juliet.expectNone(match.message('romeo@localhost', 'two (damaged on disk)'), 300, 'the damaged message');
    assert.ok(juliet.isOnline, 'the session goes on');
    // The damaged message goes with the delivered ones once they are acknowledged (or the client
    // closes its stream after them): the count includes damaged entries.
    await juliet.close();
    await until('an empty offline store', async () => (await offlineCount(server, 'juliet')) === 0, 5000);

    const status = await server.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { quarantined?: unknown }).quarantined, 1);

    // Later logins and messages work as usual.
    const again = await server.connectClient(t, 'juliet', { password: julietPw });
    await again.send(xml('presence'));
    await again.expectNone(match.message(), 300, 'a second delivery');
    const romeo2 = await server.connectClient(t, 'romeo', { password: romeoPw });
    await romeo2.send(chat('juliet@localhost', 'four'));
    await again.waitFor(match.message('romeo@localhost', 'four'));
    // Nothing of the damaged message, nor who it was for, reaches the logs.
    const logs = server.logs();
    assert.ok(!logs.includes('two (damaged on disk)'));
  });
});
