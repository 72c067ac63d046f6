// Privacy: no user's last logout time is ever kept (src/modules/last-activity answers from memory
// only). After a logout, neither the raw bytes of the data files nor the account's full export
// hold that time in any usual form, no log line of that moment names the user, and a contact
// asking for the user's last activity learns nothing, before and after a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml, type TestClient } from '../harness/client.ts';

/** Every way a time within [from, to] (ms) is commonly written down, to the second. */
function timeForms(fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  for (let s = Math.floor(fromMs / 1000) - 1; s <= Math.ceil(toMs / 1000) + 1; s++) {
    const iso = new Date(s * 1000).toISOString();
    // Unix seconds (also the prefix of milliseconds), ISO 8601 and SQLite's datetime() form.
    out.push(String(s), iso.slice(0, 19), iso.slice(0, 19).replace('T', ' '));
  }
  return out;
}

describe('privacy: no last logout time', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.remove());

  const lastOf = async (asker: TestClient, jid: string): Promise<string> => {
    try {
      await asker.iqGet(xml('query', 'jabber:iq:last'), jid);
      return 'result';
    } catch (e) {
      return (e as { condition?: string }).condition ?? String(e);
    }
  };

  it('a logout leaves no time behind, on disk or in memory', async () => {
    const alice = await server.connectClient(undefined, 'alice');
    const bob = await server.connectClient(undefined, 'bob');
    // bob may see alice's presence (a subscription she approved), so he may ask XEP-0012 about her.
    await alice.send(xml('presence'));
    await bob.send(xml('presence'));
    await bob.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
    await alice.waitFor((s) => s.is('presence') && s.attrs['type'] === 'subscribe');
    await alice.send(xml('presence', { to: 'bob@localhost', type: 'subscribed' }));
    await bob.waitFor((s) => s.is('presence') && s.attrs['type'] === 'subscribed');
    assert.equal(await lastOf(bob, 'alice@localhost'), 'result');

    const loggedOutFrom = Date.now();
    await alice.close();
    await bob.waitFor((s) => s.is('presence') && s.attrs['type'] === 'unavailable' && (s.attrs['from'] ?? '').startsWith('alice@localhost/'));
    const loggedOutTo = Date.now();
    assert.equal(await lastOf(bob, 'alice@localhost'), 'service-unavailable');
    await bob.close();
    await server.stop();

    const forms = timeForms(loggedOutFrom, loggedOutTo);
    const files = listFiles(server.dataDir);
    assert.ok(files.some((f) => f.endsWith('.sqlite')), 'the database was scanned');
    for (const path of files) {
      const text = readFileSync(path).toString('latin1');
      if (path === server.logFile) {
        // Log lines carry their own time; none written then names alice.
        for (const line of text.split('\n')) {
          if (forms.some((f) => line.includes(f))) assert.doesNotMatch(line, /alice/, `log line at logout names the user: ${line}`);
        }
        continue;
      }
      for (const f of forms) assert.ok(!text.includes(f), `${path} holds ${f}, the logout time`);
    }
    // Decrypted: everything stored for the account.
    const exported = await server.cli(['export', 'alice@localhost']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /alice/);
    for (const f of forms) assert.ok(!exported.stdout.includes(f), `the export holds ${f}`);
  });

  it('after a restart, still nothing is known of her', async () => {
    const password = server.passwords.get('bob@localhost');
    server = await startServer({ root: server.root });
    const bob = await server.connectClient(undefined, 'bob', { password });
    try {
      assert.equal(await lastOf(bob, 'alice@localhost'), 'service-unavailable');
    } finally {
      await bob.close();
    }
  });
});
