// Transactions of the storage contract (the Transaction of core/storage.ts): several records
// written together or not at all, reads that see the transaction's own writes, and a transaction
// run again when another writer changed what it read. Part of ../backend.contract.ts.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteConflictError, type Json, type StorageBackend } from '../../core/storage.ts';
import { storageOver, testHosts, type ByteBackendFixture, type FixtureFactory } from './fixture.ts';
import { MemoryBackend } from '../memory.ts';

type Meta = { counter: number };

export function transactionSuite(makeFixture: FixtureFactory): void {
  describe('transactions', () => {
    let fixture: ByteBackendFixture;
    let db: StorageBackend;
    let host: string;

    beforeEach(async () => {
      fixture = await makeFixture();
      db = storageOver(fixture.backend());
      await db.open();
      ({ host } = testHosts());
    });

    afterEach(async () => {
      try {
        await db.close();
      } finally {
        await fixture.cleanup();
      }
    });

    it('writes a map item and a keyval record together, and returns the result', async () => {
      const items = db.map<Json>(host, 'roster');
      const meta = db.keyval<Meta>(host, 'roster-meta');
      await items.set('alice', 'old@x', { name: 'Old' });
      const ver = await items.transaction(async (tx) => {
        const m = tx.keyval(meta);
        const next = { counter: ((await m.get('alice'))?.counter ?? 0) + 1 };
        tx.map(items).set('alice', 'bob@x', { name: 'Bob' });
        tx.map(items).delete('alice', 'old@x');
        m.set('alice', next);
        return `v${next.counter}`;
      });
      assert.equal(ver, 'v1');
      assert.deepEqual(await items.getAll('alice'), new Map([['bob@x', { name: 'Bob' }]]));
      assert.deepEqual(await meta.get('alice'), { counter: 1 });
    });

    it('reads see the transaction\'s own writes, the stores outside see them only after the commit', async () => {
      const items = db.map<Json>(host, 'roster');
      const meta = db.keyval<Json>(host, 'meta');
      await items.set('alice', 'a@x', 'A');
      await items.set('alice', 'b@x', 'B');
      await meta.set('alice', 'm1');
      await db.transaction(async (tx) => {
        const m = tx.map(items);
        const k = tx.keyval(meta);
        assert.equal(await m.get('alice', 'a@x'), 'A');
        m.set('alice', 'a@x', { changed: true });
        assert.deepEqual(await m.get('alice', 'a@x'), { changed: true });
        m.delete('alice', 'b@x');
        assert.equal(await m.get('alice', 'b@x'), undefined);
        k.delete('alice');
        assert.equal(await k.get('alice'), undefined);
        k.set('alice', 'm2');
        assert.equal(await k.get('alice'), 'm2');
        m.deleteAll('alice');
        assert.equal(await m.get('alice', 'a@x'), undefined);
        m.set('alice', 'c@x', 'C');
        assert.equal(await m.get('alice', 'c@x'), 'C');
        // nothing is stored before the commit
        assert.equal(await items.get('alice', 'a@x'), 'A');
        assert.equal(await items.get('alice', 'c@x'), undefined);
        assert.equal(await meta.get('alice'), 'm1');
      });
      assert.deepEqual(await items.getAll('alice'), new Map([['c@x', 'C']]));
      assert.equal(await meta.get('alice'), 'm2');
    });

    it('keeps a copy of what was written: later changes to the object change nothing', async () => {
      const kv = db.keyval<Json>(host, 's');
      await db.transaction(async (tx) => {
        const value = { list: [1] };
        tx.keyval(kv).set('alice', value);
        value.list.push(2);
        const read = (await tx.keyval(kv).get('alice')) as { list: number[] };
        assert.deepEqual(read, { list: [1] });
        read.list.push(3);
        assert.deepEqual(await tx.keyval(kv).get('alice'), { list: [1] });
      });
      assert.deepEqual(await kv.get('alice'), { list: [1] });
    });

    it('writes nothing when fn throws', async () => {
      const items = db.map<Json>(host, 'roster');
      const meta = db.keyval<Json>(host, 'meta');
      await meta.set('alice', 1);
      await assert.rejects(db.transaction(async (tx) => {
        tx.map(items).set('alice', 'bob@x', 'B');
        tx.keyval(meta).set('alice', 2);
        throw new Error('changed my mind');
      }), /changed my mind/);
      assert.deepEqual(await items.getAll('alice'), new Map());
      assert.equal(await meta.get('alice'), 1);
    });

    it('runs again when another writer changed a record it read, and then stores a consistent result', async () => {
      const meta = db.keyval<Meta>(host, 'meta');
      const items = db.map<Json>(host, 'items');
      await meta.set('alice', { counter: 1 });
      let runs = 0;
      const result = await meta.transaction(async (tx) => {
        runs++;
        const current = (await tx.keyval(meta).get('alice'))?.counter ?? 0;
        // Another writer, between this transaction's read and its commit (the first time only).
        if (runs === 1) await meta.set('alice', { counter: 10 });
        tx.keyval(meta).set('alice', { counter: current + 1 });
        tx.map(items).set('alice', `item${current + 1}`, current + 1);
        return current + 1;
      });
      assert.equal(runs, 2);
      assert.equal(result, 11);
      assert.deepEqual(await meta.get('alice'), { counter: 11 });
      assert.deepEqual(await items.getAll('alice'), new Map([['item11', 11]]));
    });

    it('also when the record it found missing was created meanwhile', async () => {
      const meta = db.keyval<Meta>(host, 'meta');
      let runs = 0;
      await db.transaction(async (tx) => {
        runs++;
        const current = await tx.keyval(meta).get('alice');
        if (runs === 1) await meta.set('alice', { counter: 5 });
        tx.keyval(meta).set('alice', { counter: (current?.counter ?? 0) + 1 });
      });
      assert.equal(runs, 2);
      assert.deepEqual(await meta.get('alice'), { counter: 6 });
    });

    it('concurrent read-modify-write transactions lose no update', async () => {
      const meta = db.keyval<Meta>(host, 'meta');
      const n = 12;
      await Promise.all(Array.from({ length: n }, () => db.transaction(async (tx) => {
        const m = tx.keyval(meta);
        const current = (await m.get('alice'))?.counter ?? 0;
        await new Promise((r) => setImmediate(r));
        m.set('alice', { counter: current + 1 });
      })));
      assert.deepEqual(await meta.get('alice'), { counter: n });
    });

    it('gives up with WriteConflictError when every run meets a change, and writes nothing', async () => {
      const meta = db.keyval<Meta>(host, 'meta');
      const items = db.map<Json>(host, 'items');
      let runs = 0;
      await assert.rejects(db.transaction(async (tx) => {
        runs++;
        await tx.keyval(meta).get('alice');
        await meta.set('alice', { counter: runs });
        tx.map(items).set('alice', 'k', runs);
      }), WriteConflictError);
      assert.ok(runs > 1 && runs < 100, `${runs} runs`);
      assert.deepEqual(await items.getAll('alice'), new Map());
    });

    it('a transaction that writes nothing stores nothing', async () => {
      const meta = db.keyval<Json>(host, 'meta');
      assert.equal(await db.transaction(async (tx) => (await tx.keyval(meta).get('alice')) ?? 'none'), 'none');
      assert.equal(await meta.get('alice'), undefined);
    });

    it('takes only keyval and map stores of its own storage; ends with its fn', async () => {
      const other = storageOver(new MemoryBackend());
      await other.open();
      try {
        await assert.rejects(db.transaction(async (tx) => {
          tx.keyval(other.keyval<Json>(host, 's')).set('alice', 1);
        }), TypeError);
        await assert.rejects(db.transaction(async (tx) => {
          tx.keyval(db.map<Json>(host, 's') as never);
        }), TypeError);
      } finally {
        await other.close();
      }
      let kept: { set(user: string, v: Json): void } | undefined;
      await db.transaction(async (tx) => {
        kept = tx.keyval(db.keyval<Json>(host, 's'));
      });
      assert.throws(() => kept?.set('alice', 1), /ended/);
      assert.equal(await db.keyval<Json>(host, 's').get('alice'), undefined);
    });
  });
}
