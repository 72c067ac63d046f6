// The byte layer of the storage contract: what every ByteBackend does with names and bytes, with
// no storage layer above it (no JSON, no encryption). Part of ../backend.contract.ts.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteConflictError, type ByteBackend, type RecordKind, type RecordRef } from '../../core/storage.ts';
import { testHosts, type ByteBackendFixture, type FixtureFactory } from './fixture.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

export function byteBackendSuite(makeFixture: FixtureFactory): void {
  describe('byte backend', () => {
    let fixture: ByteBackendFixture;
    let db: ByteBackend;
    let host: string;
    let host2: string;
    const ref = (owner: string, key = '', store = 's', kind: RecordKind = key === '' ? 'keyval' : 'map', h = host): RecordRef =>
      ({ host: h, kind, store, owner, key });
    const put = (r: RecordRef, value: string) => db.write([{ op: 'put', ref: r, value: bytes(value) }]);

    beforeEach(async () => {
      fixture = await makeFixture();
      db = fixture.backend();
      await db.open();
      ({ host, host2 } = testHosts());
    });

    afterEach(async () => {
      try {
        await db.close();
      } finally {
        await fixture.cleanup();
      }
    });

    describe('records', () => {
      it('puts, gets, overwrites and deletes', async () => {
        assert.equal(await db.get(ref('o1')), undefined);
        await put(ref('o1'), 'one');
        assert.equal(text(await db.get(ref('o1'))), 'one');
        await put(ref('o1'), 'two');
        assert.equal(text(await db.get(ref('o1'))), 'two');
        await db.write([{ op: 'delete', ref: ref('o1') }]);
        assert.equal(await db.get(ref('o1')), undefined);
        await db.write([{ op: 'delete', ref: ref('o1') }]); // deleting a missing record is not an error
        await db.write([]);
      });

      it('keeps empty and binary values exactly', async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        await db.write([{ op: 'put', ref: ref('o1'), value: new Uint8Array(0) }, { op: 'put', ref: ref('o2'), value: all }]);
        assert.deepEqual(await db.get(ref('o1')), new Uint8Array(0));
        assert.deepEqual(await db.get(ref('o2')), all);
      });

      it('keeps hosts, kinds, stores, owners and keys apart, literally', async () => {
        const refs = [
          ref('o'), ref('o', '', 's', 'map'), ref('o', 'k'), ref('o', '', 't'), ref('p'), ref('o', '', 's', 'keyval', host2),
          ref('O'), ref('o_'), ref('%'), ref('o', 'K'), ref('o', 'k', 's_'),
        ];
        for (const [i, r] of refs.entries()) await put(r, `v${i}`);
        for (const [i, r] of refs.entries()) assert.equal(text(await db.get(r)), `v${i}`);
        assert.equal(await db.get(ref('x')), undefined);
        assert.equal(await db.get(ref('o', '', 'S')), undefined);
      });

      it('getAll lists one owner\'s records of one store, by key', async () => {
        await put(ref('o', 'b'), 'B');
        await put(ref('o', 'a'), 'A');
        await put(ref('o', 'c', 'other'), 'C');
        await put(ref('p', 'd'), 'D');
        await put(ref('o', 'e', 's', 'map', host2), 'E');
        const all = await db.getAll({ host, kind: 'map', store: 's', owner: 'o' });
        assert.deepEqual(all.map((r) => [r.key, text(r.value)]), [['a', 'A'], ['b', 'B']]);
        assert.deepEqual(await db.getAll({ host, kind: 'map', store: 's', owner: 'nobody' }), []);
      });

      it('scan lists every owner\'s records of one store', async () => {
        await put(ref('o2'), '2');
        await put(ref('o1'), '1');
        await put(ref('o1', '', 'other'), 'x');
        await put(ref('o3', '', 's', 'map'), 'x');
        await put(ref('o4', '', 's', 'keyval', host2), 'x');
        const all = await db.scan({ host, kind: 'keyval', store: 's' });
        assert.deepEqual(all.map((r) => [r.owner, r.key, text(r.value)]), [['o1', '', '1'], ['o2', '', '2']]);
      });

      it('clear deletes one owner\'s records of one store', async () => {
        await put(ref('o', 'a'), 'A');
        await put(ref('o', 'b'), 'B');
        await put(ref('p', 'a'), 'P');
        await put(ref('o', 'a', 'other'), 'O');
        await put(ref('o', '', 's', 'keyval'), 'K');
        await db.write([{ op: 'clear', scope: { host, kind: 'map', store: 's', owner: 'o' } }]);
        assert.deepEqual(await db.getAll({ host, kind: 'map', store: 's', owner: 'o' }), []);
        assert.equal(text(await db.get(ref('p', 'a'))), 'P');
        assert.equal(text(await db.get(ref('o', 'a', 'other'))), 'O');
        assert.equal(text(await db.get(ref('o', '', 's', 'keyval'))), 'K');
      });

      it('returns copies and keeps its own: changing either side\'s bytes changes nothing stored', async () => {
        const value = bytes('abc');
        await db.write([{ op: 'put', ref: ref('o'), value }]);
        value[0] = 0x7a;
        const got = await db.get(ref('o'));
        assert.equal(text(got), 'abc');
        if (got) got[0] = 0x7a;
        assert.equal(text(await db.get(ref('o'))), 'abc');
      });
    });

    describe('atomic writes', () => {
      it('applies a batch in order', async () => {
        await db.write([
          { op: 'put', ref: ref('o', 'a'), value: bytes('1') },
          { op: 'put', ref: ref('o', 'b'), value: bytes('2') },
          { op: 'clear', scope: { host, kind: 'map', store: 's', owner: 'o' } },
          { op: 'put', ref: ref('o', 'c'), value: bytes('3') },
          { op: 'put', ref: ref('o'), value: bytes('k') },
          { op: 'delete', ref: ref('o') },
          { op: 'put', ref: ref('o', 'c'), value: bytes('4') },
        ]);
        const all = await db.getAll({ host, kind: 'map', store: 's', owner: 'o' });
        assert.deepEqual(all.map((r) => [r.key, text(r.value)]), [['c', '4']]);
        assert.equal(await db.get(ref('o')), undefined);
      });

      it('writes when every check holds, and nothing at all when one fails', async () => {
        await put(ref('o', 'a'), 'A1');
        await db.write(
          [{ op: 'put', ref: ref('o', 'a'), value: bytes('A2') }, { op: 'put', ref: ref('o', 'b'), value: bytes('B1') }],
          [{ ref: ref('o', 'a'), expected: bytes('A1') }, { ref: ref('o', 'b'), expected: undefined }],
        );
        assert.equal(text(await db.get(ref('o', 'a'))), 'A2');
        assert.equal(text(await db.get(ref('o', 'b'))), 'B1');

        for (const checks of [
          [{ ref: ref('o', 'a'), expected: bytes('A1') }], // changed since
          [{ ref: ref('o', 'b'), expected: undefined }], // exists now
          [{ ref: ref('o', 'c'), expected: bytes('C') }], // never existed
          [{ ref: ref('o', 'a'), expected: bytes('A2') }, { ref: ref('o', 'a', 'other'), expected: bytes('A2') }],
        ]) {
          await assert.rejects(db.write([
            { op: 'put', ref: ref('o', 'x'), value: bytes('X') },
            { op: 'delete', ref: ref('o', 'a') },
            { op: 'clear', scope: { host, kind: 'map', store: 's', owner: 'o' } },
          ], checks), WriteConflictError);
          assert.equal(await db.get(ref('o', 'x')), undefined);
          assert.equal(text(await db.get(ref('o', 'a'))), 'A2');
          assert.equal(text(await db.get(ref('o', 'b'))), 'B1');
        }
        // checks alone, with no write: nothing happens either way
        await db.write([], [{ ref: ref('o', 'a'), expected: bytes('A2') }]);
      });
    });

    describe('archive', () => {
      const scope = (owner: string, store = 'offline', h?: string) => ({ host: h ?? host, store, owner });
      const append = (owner: string, value: string, when: number, store?: string, h?: string) =>
        db.append(scope(owner, store, h), when, () => bytes(value));
      const values = async (owner: string, limit?: number, store?: string) =>
        (await db.entries(scope(owner, store), limit)).map((e) => text(e.value));

      it('seals with the new id, inside the append; ids increase and are never reused', async () => {
        const seen: string[] = [];
        const id1 = await db.append(scope('o'), 1000, (id) => { seen.push(id); return bytes(`v-${id}`); });
        const id2 = await db.append(scope('o'), 1000, (id) => { seen.push(id); return bytes(`v-${id}`); });
        assert.deepEqual(seen, [id1, id2]);
        assert.match(id1, /^[0-9]+$/);
        assert.ok(BigInt(id2) > BigInt(id1));
        assert.deepEqual(await db.entries(scope('o')), [
          { id: id1, when: 1000, value: bytes(`v-${id1}`) },
          { id: id2, when: 1000, value: bytes(`v-${id2}`) },
        ]);
        await db.deleteEntries(scope('o'), [id2]);
        const id3 = await append('o', 'three', 1000);
        assert.ok(BigInt(id3) > BigInt(id2), 'a deleted id is not given again');
      });

      it('stores nothing when sealing fails', async () => {
        await append('o', 'one', 1);
        await assert.rejects(db.append(scope('o'), 2, () => { throw new Error('seal failure'); }), /seal failure/);
        assert.deepEqual(await values('o'), ['one']);
        assert.equal(await db.count(scope('o')), 1);
        await append('o', 'three', 3);
        assert.deepEqual(await values('o'), ['one', 'three']);
      });

      it('lists oldest first (by time, then by id), limits, counts', async () => {
        await append('o', 'late', 5000);
        await append('o', 'early', 1000);
        await append('o', 'same-1', 2000);
        await append('o', 'same-2', 2000);
        await append('p', 'other owner', 1500);
        await append('o', 'other store', 1500, 'mam');
        assert.deepEqual(await values('o'), ['early', 'same-1', 'same-2', 'late']);
        assert.deepEqual(await values('o', 2), ['early', 'same-1']);
        assert.deepEqual(await values('o', 0), []);
        assert.equal(await db.count(scope('o')), 4);
        assert.equal(await db.count(scope('nobody')), 0);
        assert.deepEqual((await db.entries(scope('o'))).map((e) => e.when), [1000, 2000, 2000, 5000]);
        await assert.rejects(db.entries(scope('o'), -1), RangeError);
        await assert.rejects(db.append(scope('o'), Number.NaN, () => bytes('x')), RangeError);
      });

      it('deletes by id only within the owner and store; junk ids are ignored', async () => {
        const a = [await append('o', 'a0', 1), await append('o', 'a1', 2), await append('o', 'a2', 3)];
        const p = await append('p', 'p0', 1);
        const m = await append('o', 'm0', 1, 'mam');
        const r = await append('o', 'r0', 1, 'offline', host2);
        await db.deleteEntries(scope('o'), [a[0] ?? '', a[2] ?? '', p, m, r, 'nonsense', '', '-1', '1.5', '99999999999999999999']);
        assert.deepEqual(await values('o'), ['a1']);
        assert.equal(await db.count(scope('p')), 1);
        assert.equal(await db.count(scope('o', 'mam')), 1);
        assert.equal(await db.count(scope('o', 'offline', host2)), 1);
        await db.deleteEntries(scope('o'), []);
        assert.equal(await db.count(scope('o')), 1);
        await db.deleteEntries(scope('o'), 'all');
        assert.equal(await db.count(scope('o')), 0);
        assert.equal(await db.count(scope('p')), 1);
      });

      it('purges old entries of every owner of one host and store, and counts them', async () => {
        await append('o', 'old-o', 999);
        await append('p', 'old-p', 10);
        await append('o', 'at-cutoff', 1000);
        await append('p', 'new-p', 1001);
        await append('o', 'other store', 10, 'mam');
        await append('o', 'other host', 10, 'offline', host2);
        assert.equal(await db.purge(host, 'offline', 1000), 2);
        assert.deepEqual(await values('o'), ['at-cutoff']);
        assert.deepEqual(await values('p'), ['new-p']);
        assert.equal(await db.count(scope('o', 'mam')), 1);
        assert.equal(await db.count(scope('o', 'offline', host2)), 1);
        assert.equal(await db.purge(host, 'offline', 1000), 0);
      });
    });

    describe('owners', () => {
      async function fill(owner: string, h = host): Promise<void> {
        await db.write([
          { op: 'put', ref: ref(owner, '', 'vcard', 'keyval', h), value: bytes(`${owner}-vcard`) },
          { op: 'put', ref: ref(owner, 'k1', 'roster', 'map', h), value: bytes(`${owner}-k1`) },
          { op: 'put', ref: ref(owner, 'k2', 'roster', 'map', h), value: bytes(`${owner}-k2`) },
        ]);
        await db.append({ host: h, store: 'offline', owner }, 2000, () => bytes(`${owner}-m2`));
        await db.append({ host: h, store: 'offline', owner }, 1000, () => bytes(`${owner}-m1`));
        await db.append({ host: h, store: 'mam', owner }, 1000, () => bytes(`${owner}-mam`));
      }

      it('exportOwner reads everything of one owner on one host', async () => {
        await fill('o');
        await fill('p');
        await fill('o', host2);
        const dump = await db.exportOwner(host, 'o');
        assert.deepEqual(
          dump.records.map((r) => [r.kind, r.store, r.key, text(r.value)]).sort(),
          [['keyval', 'vcard', '', 'o-vcard'], ['map', 'roster', 'k1', 'o-k1'], ['map', 'roster', 'k2', 'o-k2']],
        );
        const offline = dump.archive.filter((e) => e.store === 'offline');
        assert.deepEqual(offline.map((e) => [e.when, text(e.value)]), [[1000, 'o-m1'], [2000, 'o-m2']]);
        assert.deepEqual(dump.archive.filter((e) => e.store === 'mam').map((e) => text(e.value)), ['o-mam']);
        assert.equal(dump.archive.length, 3);
        assert.deepEqual(await db.exportOwner(host, 'nobody'), { records: [], archive: [] });
      });

      it('deleteOwner removes everything of one owner on one host', async () => {
        await fill('o');
        await fill('p');
        await fill('o', host2);
        await db.deleteOwner(host, 'o');
        assert.deepEqual(await db.exportOwner(host, 'o'), { records: [], archive: [] });
        assert.equal((await db.exportOwner(host, 'p')).records.length, 3);
        assert.equal((await db.exportOwner(host2, 'o')).archive.length, 3);
        await db.deleteOwner(host, 'o');
      });
    });

    describe('whole stores', () => {
      it('hasRecords finds any record or entry of the store on the host, of that kind only', async () => {
        const any = (kind: RecordKind | 'archive', store: string, h = host) => db.hasRecords({ host: h, kind, store });
        assert.equal(await any('keyval', 's'), false);
        assert.equal(await any('archive', 'mam'), false);
        await put(ref('o1', '', 's', 'keyval'), 'one');
        await db.append({ host, store: 'mam', owner: 'o2' }, 1000, () => bytes('entry'));
        assert.equal(await any('keyval', 's'), true);
        assert.equal(await any('map', 's'), false, 'a map store of the same name is another store');
        assert.equal(await any('archive', 's'), false);
        assert.equal(await any('keyval', 's', host2), false, 'another host');
        assert.equal(await any('keyval', 'S'), false, 'names compare exactly');
        assert.equal(await any('archive', 'mam'), true);
        assert.equal(await any('archive', 'mam', host2), false);
      });

      it('deleteStore deletes every owner\'s records of the store on the host, nothing else', async () => {
        await db.write([
          { op: 'put', ref: ref('o1', 'a', 'm', 'map'), value: bytes('1a') },
          { op: 'put', ref: ref('o1', 'b', 'm', 'map'), value: bytes('1b') },
          { op: 'put', ref: ref('o2', 'a', 'm', 'map'), value: bytes('2a') },
          { op: 'put', ref: ref('o1', '', 'm', 'keyval'), value: bytes('kv') },
          { op: 'put', ref: ref('o1', 'a', 'm', 'map', host2), value: bytes('other host') },
        ]);
        await db.append({ host, store: 'mam', owner: 'o1' }, 1000, () => bytes('e1'));
        await db.append({ host, store: 'mam', owner: 'o2' }, 2000, () => bytes('e2'));
        await db.append({ host, store: 'offline', owner: 'o1' }, 1000, () => bytes('kept'));
        assert.equal(await db.deleteStore({ host, kind: 'map', store: 'm' }), 3);
        assert.equal(await db.hasRecords({ host, kind: 'map', store: 'm' }), false);
        assert.equal(text(await db.get(ref('o1', '', 'm', 'keyval'))), 'kv');
        assert.equal(text(await db.get(ref('o1', 'a', 'm', 'map', host2))), 'other host');
        assert.equal(await db.deleteStore({ host, kind: 'archive', store: 'mam' }), 2);
        assert.equal(await db.count({ host, store: 'mam', owner: 'o1' }), 0);
        assert.equal(await db.count({ host, store: 'offline', owner: 'o1' }), 1);
        assert.equal(await db.deleteStore({ host, kind: 'archive', store: 'mam' }), 0);
      });
    });

    it('keeps its data across close and open', async () => {
      await put(ref('o'), 'kept');
      const id = await db.append({ host, store: 'offline', owner: 'o' }, 1, () => bytes('entry'));
      await db.close();
      db = fixture.backend();
      await db.open();
      assert.equal(text(await db.get(ref('o'))), 'kept');
      assert.deepEqual((await db.entries({ host, store: 'offline', owner: 'o' })).map((e) => e.id), [id]);
      const next = await db.append({ host, store: 'offline', owner: 'o' }, 1, () => bytes('again'));
      assert.ok(BigInt(next) > BigInt(id));
    });
  });
}
