// Another process holding the database's write lock (a backup, the sqlite3 shell) must not stop
// the server (issue 7 B): node:sqlite is synchronous, so the server never waits inside SQLite for
// more than a few milliseconds and retries from timers instead. While a separate process holds
// BEGIN EXCLUSIVE for 10 s, two users keep chatting with fast round trips, and a message to an
// offline user is stored once the lock ends and delivered at that user's next login.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, startServer, type TestServer } from '../harness/server.ts';
import { match, xml, type Element } from '../harness/client.ts';
import { offlineCount } from '../harness/store.ts';

const LOCK_MS = 10_000;

const chat = (to: string, body: string, id?: string) => xml('message', { to, type: 'chat', id }, xml('body', {}, body));

/** Holds BEGIN EXCLUSIVE on the file from a separate node process; resolves once it holds it. */
function holdLock(path: string, ms: number): Promise<{ released: Promise<number | null> }> {
  const script = `
    const { DatabaseSync } = require('node:sqlite');
    const db = new DatabaseSync(process.argv[1]);
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));
  `;
  const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'node'), ['-e', script, path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('locked')) resolve({ released });
    });
    child.once('exit', (code) => reject(new Error(`the lock holder exited before locking (${String(code)})`)));
  });
}

/** carol's offline messages, counted through the store API (read-only, beside the server). */
function storedOffline(server: TestServer): Promise<number> {
  return offlineCount(server, 'carol');
}

describe('the database locked by another process', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: ['offline'] });
  });
  after(() => server.stop());

  it('keeps serving; a message for an offline user is stored when the lock ends, nothing lost', async (t) => {
    const carolPw = await server.adduser('carol');
    const alice = await server.connectClient(t, 'alice');
    const bob = await server.connectClient(t, 'bob');
    const dave = await server.connectClient(t, 'dave');
    for (const c of [alice, bob]) await c.send(xml('presence'));

    const { released } = await holdLock(join(server.dataDir, 'jabberx.sqlite'), LOCK_MS);
    const lockedAt = Date.now();

    // During the lock: dave writes to carol, who is offline (the server must store it, so it waits).
    await dave.send(chat('carol@localhost', 'sent during the lock', 'held'));

    // Meanwhile alice and bob chat: messages between online users never touch storage.
    const rtts: number[] = [];
    let n = 0;
    while (Date.now() - lockedAt < LOCK_MS - 1000) {
      const id = `rt${++n}`;
      const start = performance.now();
      await alice.send(chat(bob.jid.toString(), `ping ${n}`, id));
      await bob.waitFor((e: Element) => e.is('message') && e.attrs['id'] === id, 2000, `ping ${n}`);
      await bob.send(chat(alice.jid.toString(), `pong ${n}`, `${id}-reply`));
      await alice.waitFor((e: Element) => e.is('message') && e.attrs['id'] === `${id}-reply`, 2000, `pong ${n}`);
      rtts.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 100));
    }
    const stillLocked = Date.now() - lockedAt < LOCK_MS;
    assert.ok(stillLocked, 'the round trips ran while the lock was held');
    assert.equal(await storedOffline(server), 0, 'nothing could be stored during the lock');
    const worst = Math.max(...rtts);
    t.diagnostic(`${rtts.length} round trips during the lock; worst ${worst.toFixed(1)} ms`);
    assert.ok(rtts.length >= 20, `kept chatting (${rtts.length} round trips)`);
    assert.ok(worst < 500, `round trips stay fast during the lock (worst ${worst.toFixed(1)} ms)`);

    assert.equal(await released, 0, 'the lock holder committed');
    // Stored once the lock is gone, without an error to the sender, whose stream lives on.
    const deadline = Date.now() + 5000;
    while ((await storedOffline(server)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await storedOffline(server), 1, 'stored once the lock ended');
    await dave.expectNone((e: Element) => e.attrs['type'] === 'error', 300, 'an error for the held message');
    assert.ok(dave.isOnline && alice.isOnline && bob.isOnline, 'no stream was killed');

    const carol = await server.connectClient(t, 'carol', { password: carolPw });
    await carol.send(xml('presence'));
    await carol.waitFor(match.message('dave@localhost', 'sent during the lock'), 5000, 'the message sent during the lock');
    // The next message from dave is handled at once again.
    await dave.send(chat('alice@localhost', 'after'));
    await alice.waitFor(match.message('dave@localhost', 'after'));
  });
});
