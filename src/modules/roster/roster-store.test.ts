// XEP-0237 §2: the roster version must change with every change of the roster, so an item and the
// version are written in one storage transaction: both are stored, or neither is.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordCheck, RecordWrite } from '../../core/storage.ts';
import { MemoryBackend } from '../../storage/memory.ts';
import { testStorage } from '../../storage/test-storage.ts';
import type { EncryptedBackend } from '../../storage/encrypted.ts';
import { RosterStore, newItem, type RosterItem } from './roster-store.ts';
import type { RosterMeta } from './versioning.ts';

const HOST = 'example.com';

/** A backend whose writes of the version store fail, as a full disk would fail them. */
class FailingMeta extends MemoryBackend {
  failing = false;
  override async write(writes: readonly RecordWrite[], checks?: readonly RecordCheck[]): Promise<void> {
    const touchesMeta = writes.some((w) => (w.op === 'clear' ? w.scope.store : w.ref.store) === 'roster-meta');
    if (this.failing && touchesMeta) throw new Error('disk full');
    return super.write(writes, checks);
  }
}

describe('RosterStore: item and version together', () => {
  let backend: FailingMeta;
  let storage: EncryptedBackend;
  let store: RosterStore;

  beforeEach(async () => {
    backend = new FailingMeta();
    storage = testStorage(backend);
    await storage.open();
    store = new RosterStore(storage.map<RosterItem>(HOST, 'roster'), storage.keyval<RosterMeta>(HOST, 'roster-meta'));
  });

  afterEach(() => storage.close());

  it('stores the item and the next version together', async () => {
    const v1 = await store.write('juliet', 'romeo@example.net', { ...newItem(), name: 'Romeo' });
    assert.equal(await store.version('juliet'), v1);
    assert.equal((await store.get('juliet', 'romeo@example.net'))?.name, 'Romeo');
    const v2 = await store.write('juliet', 'romeo@example.net', undefined);
    assert.notEqual(v2, v1);
    assert.equal(await store.version('juliet'), v2);
    assert.equal(await store.get('juliet', 'romeo@example.net'), undefined);
  });

  it('a failed write changes neither the item nor the version', async () => {
    const v1 = await store.write('juliet', 'romeo@example.net', { ...newItem(), name: 'Romeo' });
    backend.failing = true;
    await assert.rejects(store.write('juliet', 'romeo@example.net', { ...newItem(), name: 'Changed' }), /disk full/);
    await assert.rejects(store.write('juliet', 'tybalt@example.net', newItem()), /disk full/);
    await assert.rejects(store.writeQuiet('nurse', 'juliet@example.com', newItem(true)), /disk full/);
    await assert.rejects(store.clear('juliet'), /disk full/);
    backend.failing = false;
    assert.equal(await store.version('juliet'), v1);
    assert.deepEqual([...(await store.all('juliet')).keys()], ['romeo@example.net']);
    assert.equal((await store.get('juliet', 'romeo@example.net'))?.name, 'Romeo');
    assert.deepEqual(await store.all('nurse'), new Map());
    assert.deepEqual(await store.users(), ['juliet']);
  });

  it('concurrent writes outside the lock still give every change its own version', async () => {
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((c) => store.write('juliet', `${c}@example.net`, newItem())));
    assert.match(await store.version('juliet'), /-5$/);
    assert.equal((await store.all('juliet')).size, 5);
  });

  it('clear forgets the items and the version together', async () => {
    await store.write('juliet', 'romeo@example.net', newItem());
    await store.writeQuiet('juliet', 'tybalt@example.net', newItem(true));
    await store.clear('juliet');
    assert.deepEqual(await store.all('juliet'), new Map());
    assert.equal(await store.version('juliet'), 'empty');
    assert.deepEqual(await store.users(), []);
  });
});
