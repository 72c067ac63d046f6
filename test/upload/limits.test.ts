// The upload limits that need their own server (a test about a limit changes only that limit):
// the per-account quota, and deletion after max_age by the retention engine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../harness/eventually.ts';
import { putBytes, requestSlot, slotError, startUploadServer } from './helpers.ts';

describe('HTTP File Upload limits', () => {
  it('refuses a slot past the quota (resource-constraint, wait), counting stored files and pending slots', async (t) => {
    const { server } = await startUploadServer({ upload: { quota: 100 }, users: [['alice@localhost', 'pw-alice'], ['bob@localhost', 'pw-bob']] });
    t.after(() => server.remove());
    const alice = await server.connectClient(t, 'alice');
    const stored = await requestSlot(alice, 'a.txt', 60, 'text/plain');
    assert.equal((await putBytes(stored.put, Buffer.alloc(60, 97), 'text/plain')).status, 201);
    await requestSlot(alice, 'b.txt', 30, 'text/plain'); // pending: reserved
    const err = await slotError(alice, { filename: 'c.txt', size: '20', 'content-type': 'text/plain' });
    assert.equal(err.attrs['type'], 'wait');
    assert.ok(err.getChild('resource-constraint', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    assert.match(err.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /quota/);
    // What is left fits; another account has its own quota.
    await requestSlot(alice, 'd.txt', 10, 'text/plain');
    const bob = await server.connectClient(t, 'bob');
    await requestSlot(bob, 'e.txt', 100, 'text/plain');
  });

  it('deletes files after max_age, through the retention engine', async (t) => {
    const { server } = await startUploadServer({
      // Long enough that the first download below isn't raced by the purge on a loaded machine.
      upload: { max_age: '6s' },
      config: { security: { retention_interval: '1s' } },
      users: [['alice@localhost', 'pw-alice']],
    });
    t.after(() => server.remove());
    const alice = await server.connectClient(t, 'alice');
    const slot = await requestSlot(alice, 'short-lived.txt', 5, 'text/plain');
    assert.equal((await putBytes(slot.put, Buffer.from('hello'), 'text/plain')).status, 201);
    const first = await fetch(slot.get);
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const dir = join(server.dataDir, 'files', 'localhost', 'upload');
    assert.equal(readdirSync(dir).length, 1);
    await until('the file is deleted', async () => {
      const res = await fetch(slot.get);
      await res.arrayBuffer();
      return res.status === 404;
    }, 30_000, 250);
    assert.equal(readdirSync(dir).length, 0);
  });
});
