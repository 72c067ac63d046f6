// The typed stores of the storage contract: keyval, map and archive stores, export and deletion of
// a user, as modules see them, through the storage layer (encrypted.ts) over the backend under
// test. Part of ../backend.contract.ts.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Json, StorageBackend } from '../../core/storage.ts';
import { storageOver, testHosts, type ByteBackendFixture, type FixtureFactory } from './fixture.ts';

export function typedStoreSuite(makeFixture: FixtureFactory): void {
  describe('typed stores', () => {
    let fixture: ByteBackendFixture;
    let db: StorageBackend;
    let host: string;
    let host2: string;

    beforeEach(async () => {
      fixture = await makeFixture();
      db = storageOver(fixture.backend());
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

    describe('keyval', () => {
      it('returns undefined for a missing value', async () => {
        assert.equal(await db.keyval(host, 'vcard').get('alice'), undefined);
      });

      it('sets, gets, overwrites and deletes', async () => {
        const kv = db.keyval<Json>(host, 'vcard');
        await kv.set('alice', { fn: 'Alice' });
        assert.deepEqual(await kv.get('alice'), { fn: 'Alice' });
        await kv.set('alice', { fn: 'Alice B.' });
        assert.deepEqual(await kv.get('alice'), { fn: 'Alice B.' });
        await kv.delete('alice');
        assert.equal(await kv.get('alice'), undefined);
        await kv.delete('alice'); // deleting a missing value is not an error
      });

      it('stores null as a value distinct from missing', async () => {
        const kv = db.keyval<Json>(host, 's');
        await kv.set('alice', null);
        assert.equal(await kv.get('alice'), null);
      });

      it('lists the users that have a value', async () => {
        const kv = db.keyval<Json>(host, 'accounts');
        assert.deepEqual(await kv.users(), []);
        await kv.set('carol', 1);
        await kv.set('alice', 2);
        await kv.set('bob', 3);
        await kv.set('alice', 4); // overwriting does not duplicate
        assert.deepEqual((await kv.users()).sort(), ['alice', 'bob', 'carol']);
        await kv.delete('bob');
        assert.deepEqual((await kv.users()).sort(), ['alice', 'carol']);
        // other stores, other hosts and map stores of the same name are not counted
        await db.keyval(host, 'other').set('dave', 1);
        await db.keyval(host2, 'accounts').set('erin', 1);
        await db.map(host, 'accounts').set('frank', 'k', 1);
        assert.deepEqual((await kv.users()).sort(), ['alice', 'carol']);
      });
    });

    describe('map', () => {
      it('sets, gets, overwrites and deletes by key', async () => {
        const m = db.map<Json>(host, 'roster');
        assert.equal(await m.get('alice', 'bob@x'), undefined);
        await m.set('alice', 'bob@x', { sub: 'none' });
        await m.set('alice', 'carol@x', { sub: 'both' });
        assert.deepEqual(await m.get('alice', 'bob@x'), { sub: 'none' });
        await m.set('alice', 'bob@x', { sub: 'to' });
        assert.deepEqual(await m.get('alice', 'bob@x'), { sub: 'to' });
        await m.delete('alice', 'bob@x');
        assert.equal(await m.get('alice', 'bob@x'), undefined);
        assert.deepEqual(await m.get('alice', 'carol@x'), { sub: 'both' });
        await m.delete('alice', 'nobody@x');
      });

      it('accepts the empty string as a key', async () => {
        const m = db.map<Json>(host, 'm');
        await m.set('alice', '', 'empty');
        assert.equal(await m.get('alice', ''), 'empty');
        assert.deepEqual([...(await m.getAll('alice')).keys()], ['']);
      });

      it('getAll returns every key of the user only', async () => {
        const m = db.map<Json>(host, 'private');
        assert.deepEqual(await m.getAll('alice'), new Map());
        await m.set('alice', 'urn:a', 'A');
        await m.set('alice', 'urn:b', ['B']);
        await m.set('bob', 'urn:c', 'C');
        const all = await m.getAll('alice');
        assert.ok(all instanceof Map);
        assert.deepEqual(all, new Map<string, Json>([['urn:a', 'A'], ['urn:b', ['B']]]));
      });

      it('deleteAll removes one user\'s keys only', async () => {
        const m = db.map<Json>(host, 'roster');
        await m.set('alice', 'k1', 1);
        await m.set('alice', 'k2', 2);
        await m.set('bob', 'k1', 3);
        await db.map(host, 'other').set('alice', 'k1', 4);
        await m.deleteAll('alice');
        assert.deepEqual(await m.getAll('alice'), new Map());
        assert.equal(await m.get('bob', 'k1'), 3);
        assert.equal(await db.map(host, 'other').get('alice', 'k1'), 4);
      });
    });

    describe('archive', () => {
      it('appends, lists oldest first, counts', async () => {
        const a = db.archive<Json>(host, 'offline');
        assert.deepEqual(await a.list('alice'), []);
        assert.equal(await a.count('alice'), 0);
        const t = Date.UTC(2024, 0, 1);
        const id1 = await a.append('alice', 'one', new Date(t + 1000));
        const id2 = await a.append('alice', 'two', new Date(t + 2000));
        const id3 = await a.append('alice', 'three', new Date(t + 3000));
        assert.equal(typeof id1, 'string');
        assert.equal(new Set([id1, id2, id3]).size, 3);
        const list = await a.list('alice');
        assert.deepEqual(list.map((e) => e.id), [id1, id2, id3]);
        assert.deepEqual(list.map((e) => e.value), ['one', 'two', 'three']);
        assert.ok(list.every((e) => e.when instanceof Date));
        assert.deepEqual(list.map((e) => e.when.getTime()), [t + 1000, t + 2000, t + 3000]);
        assert.equal(await a.count('alice'), 3);
      });

      it('orders by date, then by insertion', async () => {
        const a = db.archive<Json>(host, 'offline');
        const t = Date.UTC(2024, 5, 1);
        await a.append('alice', 'late', new Date(t + 5000));
        await a.append('alice', 'early', new Date(t));
        await a.append('alice', 'same-1', new Date(t + 1000));
        await a.append('alice', 'same-2', new Date(t + 1000));
        assert.deepEqual((await a.list('alice')).map((e) => e.value), ['early', 'same-1', 'same-2', 'late']);
      });

      it('ids follow insertion order and are never reused', async () => {
        const a = db.archive<Json>(host, 'offline');
        const when = new Date(Date.UTC(2024, 0, 1));
        const first = await a.append('alice', 1, when);
        const second = await a.append('alice', 2, when);
        await a.delete('alice', [second]);
        const third = await a.append('alice', 3, when);
        assert.notEqual(third, second);
        assert.deepEqual((await a.list('alice')).map((e) => e.id), [first, third]);
      });

      it('defaults the date to now, with millisecond precision', async () => {
        const a = db.archive<Json>(host, 'offline');
        const before = Date.now();
        await a.append('alice', 'x');
        const after = Date.now();
        const [e] = await a.list('alice');
        assert.ok(e);
        assert.ok(e.when.getTime() >= before && e.when.getTime() <= after);
        const exact = new Date(Date.UTC(2023, 2, 4, 5, 6, 7, 891));
        await a.append('bob', 'y', exact);
        assert.equal((await a.list('bob'))[0]?.when.getTime(), exact.getTime());
      });

      it('limits the list to the oldest entries', async () => {
        const a = db.archive<Json>(host, 'offline');
        const t = Date.UTC(2024, 0, 1);
        for (let i = 0; i < 5; i++) await a.append('alice', i, new Date(t + i));
        assert.deepEqual((await a.list('alice', { limit: 2 })).map((e) => e.value), [0, 1]);
        assert.deepEqual((await a.list('alice', { limit: 10 })).map((e) => e.value), [0, 1, 2, 3, 4]);
        assert.deepEqual(await a.list('alice', { limit: 0 }), []);
        assert.deepEqual((await a.list('alice', {})).length, 5);
      });

      it('deletes by id, only within the user and store', async () => {
        const a = db.archive<Json>(host, 'offline');
        const other = db.archive<Json>(host, 'other');
        const ids = [await a.append('alice', 'a0'), await a.append('alice', 'a1'), await a.append('alice', 'a2')];
        const bobId = await a.append('bob', 'b0');
        const otherId = await other.append('alice', 'o0');
        const remoteId = await db.archive<Json>(host2, 'offline').append('alice', 'r0');
        await a.delete('alice', [ids[0] as string, ids[2] as string, bobId, otherId, remoteId, 'nonsense', '', '-1']);
        assert.deepEqual((await a.list('alice')).map((e) => e.value), ['a1']);
        assert.equal(await a.count('bob'), 1);
        assert.equal(await other.count('alice'), 1);
        assert.equal(await db.archive(host2, 'offline').count('alice'), 1);
        await a.delete('alice', []);
        assert.equal(await a.count('alice'), 1);
      });

      it('deleteAll removes one user\'s entries in one store', async () => {
        const a = db.archive<Json>(host, 'offline');
        await a.append('alice', 1);
        await a.append('alice', 2);
        await a.append('bob', 3);
        await db.archive(host, 'other').append('alice', 4);
        await a.deleteAll('alice');
        assert.equal(await a.count('alice'), 0);
        assert.equal(await a.count('bob'), 1);
        assert.equal(await db.archive(host, 'other').count('alice'), 1);
      });

      it('purgeOlderThan deletes old entries of all users of this host and store only', async () => {
        const a = db.archive<Json>(host, 'offline');
        const t = Date.UTC(2024, 0, 10);
        const old = new Date(t - 1);
        await a.append('alice', 'old-a', old);
        await a.append('bob', 'old-b', new Date(t - 86_400_000));
        await a.append('alice', 'at-cutoff', new Date(t));
        await a.append('bob', 'new-b', new Date(t + 1));
        await db.archive(host, 'other').append('alice', 'other-store', old);
        await db.archive(host2, 'offline').append('alice', 'other-host', old);
        assert.equal(await a.purgeOlderThan(new Date(t)), 2);
        assert.deepEqual((await a.list('alice')).map((e) => e.value), ['at-cutoff']);
        assert.deepEqual((await a.list('bob')).map((e) => e.value), ['new-b']);
        assert.equal(await db.archive(host, 'other').count('alice'), 1);
        assert.equal(await db.archive(host2, 'offline').count('alice'), 1);
        assert.equal(await a.purgeOlderThan(new Date(t)), 0);
      });
    });

    describe('isolation', () => {
      it('keeps hosts apart for the same user and store', async () => {
        await db.keyval(host, 's').set('alice', 'on-a');
        await db.map(host, 'm').set('alice', 'k', 'on-a');
        await db.archive(host, 'r').append('alice', 'on-a');
        assert.equal(await db.keyval(host2, 's').get('alice'), undefined);
        assert.equal(await db.map(host2, 'm').get('alice', 'k'), undefined);
        assert.deepEqual(await db.map(host2, 'm').getAll('alice'), new Map());
        assert.deepEqual(await db.archive(host2, 'r').list('alice'), []);
        assert.deepEqual(await db.keyval(host2, 's').users(), []);
        await db.keyval(host2, 's').set('alice', 'on-b');
        assert.equal(await db.keyval(host, 's').get('alice'), 'on-a');
        await db.keyval(host2, 's').delete('alice');
        assert.equal(await db.keyval(host, 's').get('alice'), 'on-a');
      });

      it('keeps stores and store kinds apart', async () => {
        await db.keyval(host, 'x').set('alice', 'kv');
        await db.map(host, 'x').set('alice', '', 'map');
        await db.archive(host, 'x').append('alice', 'archive');
        await db.keyval(host, 'y').set('alice', 'kv-y');
        assert.equal(await db.keyval(host, 'x').get('alice'), 'kv');
        assert.equal(await db.map(host, 'x').get('alice', ''), 'map');
        assert.deepEqual((await db.archive(host, 'x').list('alice')).map((e) => e.value), ['archive']);
        await db.map(host, 'x').deleteAll('alice');
        assert.equal(await db.keyval(host, 'x').get('alice'), 'kv');
        await db.keyval(host, 'x').delete('alice');
        assert.equal(await db.keyval(host, 'y').get('alice'), 'kv-y');
        assert.equal(await db.archive(host, 'x').count('alice'), 1);
      });

      it('treats names literally (no pattern matching, case-sensitive)', async () => {
        const kv = db.keyval<Json>(host, 'st_re%');
        await kv.set('a_ice', 1);
        await kv.set('Alice', 2);
        await kv.set('%', 3);
        assert.equal(await kv.get('alice'), undefined);
        assert.equal(await kv.get('aXice'), undefined);
        assert.equal(await db.keyval(host, 'stXreY').get('a_ice'), undefined);
        await kv.delete('%');
        assert.equal(await kv.get('a_ice'), 1);
        assert.equal(await kv.get('Alice'), 2);
        await db.archive(host, 'r').append('a_ice', 1);
        await db.archive(host, 'r').deleteAll('a%');
        assert.equal(await db.archive(host, 'r').count('a_ice'), 1);
      });

      it('rejects identifiers containing NUL', async () => {
        await assert.rejects(db.keyval(host, 's').set('al\u0000ice', 1));
        await assert.rejects(db.map(host, 's').set('alice', 'k\u0000', 1));
        await assert.rejects(db.archive(host, 's').append('al\u0000ice', 1));
      });
    });

    describe('values', () => {
      it('round-trip unicode and nested JSON exactly', async () => {
        const values: Json[] = [
          'plain', '', 'Grüße, Ελληνικά, 日本語, עברית, العربية', '😀🏳️‍🌈 e\u0301 \u200d \ufeff',
          'quote " backslash \\ newline \n tab \t', 0, -1.5, 1e300, Number.MAX_SAFE_INTEGER, true, false, null,
          [], {}, [1, 'two', [3, [4, { five: null }]]],
          { a: { b: { c: { d: ['deep', { e: '✓' }] } } }, 'key with spaces': 1, '😀': 'emoji key', '': 'empty key' },
          'x'.repeat(200_000),
        ];
        for (const [i, v] of values.entries()) {
          await db.keyval<Json>(host, 'kv').set(`u${i}`, v);
          await db.map<Json>(host, 'map').set('alice', `k${i}`, v);
          await db.archive<Json>(host, 'ar').append('alice', v, new Date(1_700_000_000_000 + i));
        }
        for (const [i, v] of values.entries()) {
          assert.deepEqual(await db.keyval<Json>(host, 'kv').get(`u${i}`), v);
          assert.deepEqual(await db.map<Json>(host, 'map').get('alice', `k${i}`), v);
        }
        assert.deepEqual((await db.archive<Json>(host, 'ar').list('alice')).map((e) => e.value), values);
      });

      it('round-trip unicode identifiers', async () => {
        const user = 'ñandú-雪';
        await db.keyval(host, 'ストア').set(user, 1);
        await db.map(host, 'm').set(user, 'κλειδί/😀', 2);
        assert.equal(await db.keyval(host, 'ストア').get(user), 1);
        assert.deepEqual(await db.keyval(host, 'ストア').users(), [user]);
        assert.deepEqual([...(await db.map(host, 'm').getAll(user)).keys()], ['κλειδί/😀']);
      });

      it('returns copies: mutating a read value does not change the store', async () => {
        const kv = db.keyval<Json>(host, 's');
        const v = { list: [1, 2] };
        await kv.set('alice', v);
        v.list.push(3);
        const got = (await kv.get('alice')) as { list: number[] };
        assert.deepEqual(got, { list: [1, 2] });
        got.list.push(4);
        assert.deepEqual(await kv.get('alice'), { list: [1, 2] });
      });
    });

    describe('exportUser', () => {
      it('contains every value of the user and nothing of others', async () => {
        const t = Date.UTC(2024, 1, 2, 3, 4, 5, 6);
        await db.keyval(host, 'vcard').set('alice', { fn: 'Alice' });
        await db.keyval(host, 'accounts').set('alice', { v: 1 });
        await db.map(host, 'roster').set('alice', 'bob@x', { sub: 'both' });
        await db.map(host, 'roster').set('alice', 'carol@x', { sub: 'none' });
        await db.map(host, 'private').set('alice', 'urn:x', '<x/>');
        const id1 = await db.archive(host, 'offline').append('alice', 'm1', new Date(t));
        const id2 = await db.archive(host, 'offline').append('alice', 'm2', new Date(t + 1));
        // noise: other user on the same host, same user on another host
        await db.keyval(host, 'vcard').set('bob', { fn: 'Bob' });
        await db.keyval(host, 'other').set('bob', 1);
        await db.map(host, 'roster').set('bob', 'alice@x', { sub: 'both' });
        await db.archive(host, 'offline').append('bob', 'mb');
        await db.archive(host, 'bobonly').append('bob', 'mb');
        await db.keyval(host2, 'vcard').set('alice', { fn: 'Other Alice' });
        await db.map(host2, 'roster').set('alice', 'x@x', 1);
        await db.archive(host2, 'offline').append('alice', 'remote');

        const exp = await db.exportUser(host, 'alice');
        assert.deepEqual(exp, {
          host,
          user: 'alice',
          keyval: { vcard: { fn: 'Alice' }, accounts: { v: 1 } },
          map: {
            roster: { 'bob@x': { sub: 'both' }, 'carol@x': { sub: 'none' } },
            private: { 'urn:x': '<x/>' },
          },
          archive: {
            offline: [
              { id: id1, when: new Date(t).toISOString(), value: 'm1' },
              { id: id2, when: new Date(t + 1).toISOString(), value: 'm2' },
            ],
          },
        });
        // the export is plain JSON
        assert.deepEqual(JSON.parse(JSON.stringify(exp)), exp);
      });

      it('is empty for an unknown user', async () => {
        await db.keyval(host, 'vcard').set('bob', 1);
        assert.deepEqual(await db.exportUser(host, 'nobody'), {
          host, user: 'nobody', keyval: {}, map: {}, archive: {},
        });
      });

      it('keeps store names that look like object internals as data', async () => {
        await db.keyval(host, '__proto__').set('alice', 1);
        await db.map(host, 'constructor').set('alice', '__proto__', 2);
        const exp = await db.exportUser(host, 'alice');
        assert.equal(Object.getPrototypeOf(exp.keyval), Object.prototype);
        assert.deepEqual(Object.keys(exp.keyval), ['__proto__']);
        assert.equal(Object.getOwnPropertyDescriptor(exp.keyval, '__proto__')?.value, 1);
        const ctor = Object.getOwnPropertyDescriptor(exp.map, 'constructor')?.value as Record<string, Json>;
        assert.equal(Object.getOwnPropertyDescriptor(ctor, '__proto__')?.value, 2);
      });
    });

    describe('deleteUser', () => {
      it('removes every value of the user and leaves other users and hosts', async () => {
        await db.keyval(host, 'vcard').set('alice', 1);
        await db.keyval(host, 'accounts').set('alice', 2);
        await db.map(host, 'roster').set('alice', 'k', 3);
        await db.archive(host, 'offline').append('alice', 4);
        await db.archive(host, 'mam').append('alice', 5);
        await db.keyval(host, 'vcard').set('bob', 'b');
        await db.map(host, 'roster').set('bob', 'k', 'b');
        await db.archive(host, 'offline').append('bob', 'b');
        await db.keyval(host2, 'vcard').set('alice', 'a2');
        await db.map(host2, 'roster').set('alice', 'k', 'a2');
        await db.archive(host2, 'offline').append('alice', 'a2');

        await db.deleteUser(host, 'alice');

        assert.equal(await db.keyval(host, 'vcard').get('alice'), undefined);
        assert.equal(await db.keyval(host, 'accounts').get('alice'), undefined);
        assert.deepEqual(await db.map(host, 'roster').getAll('alice'), new Map());
        assert.equal(await db.archive(host, 'offline').count('alice'), 0);
        assert.equal(await db.archive(host, 'mam').count('alice'), 0);
        assert.deepEqual(await db.keyval(host, 'vcard').users(), ['bob']);
        assert.deepEqual(await db.keyval(host, 'accounts').users(), []);
        assert.deepEqual(await db.exportUser(host, 'alice'), {
          host, user: 'alice', keyval: {}, map: {}, archive: {},
        });

        assert.equal(await db.keyval(host, 'vcard').get('bob'), 'b');
        assert.equal(await db.map(host, 'roster').get('bob', 'k'), 'b');
        assert.equal(await db.archive(host, 'offline').count('bob'), 1);
        assert.equal(await db.keyval(host2, 'vcard').get('alice'), 'a2');
        assert.equal(await db.map(host2, 'roster').get('alice', 'k'), 'a2');
        assert.equal(await db.archive(host2, 'offline').count('alice'), 1);

        await db.deleteUser(host, 'alice'); // again: nothing to do, no error
      });
    });

    describe('concurrency', () => {
      it('concurrent calls do not interfere', async () => {
        const n = 50;
        const kv = db.keyval<Json>(host, 'kv');
        const m = db.map<Json>(host, 'map');
        const a = db.archive<Json>(host, 'ar');
        const ids = await Promise.all(Array.from({ length: n }, async (_, i) => {
          await kv.set(`u${i}`, { i });
          await m.set('alice', `k${i}`, i);
          return a.append(`u${i % 5}`, i);
        }));
        assert.equal(new Set(ids).size, n);
        const reads = await Promise.all(Array.from({ length: n }, (_, i) => kv.get(`u${i}`)));
        assert.deepEqual(reads, Array.from({ length: n }, (_, i) => ({ i })));
        assert.equal((await m.getAll('alice')).size, n);
        const counts = await Promise.all([0, 1, 2, 3, 4].map((u) => a.count(`u${u}`)));
        assert.deepEqual(counts, [10, 10, 10, 10, 10]);
        // interleaved writes, deletes, exports and user deletion
        await Promise.all([
          db.deleteUser(host, 'u0'),
          db.exportUser(host, 'u1'),
          a.deleteAll('u2'),
          kv.set('u3', 'changed'),
          m.deleteAll('alice'),
          a.append('u4', 'extra'),
        ]);
        assert.equal(await kv.get('u0'), undefined);
        assert.equal(await a.count('u0'), 0);
        assert.equal(await a.count('u1'), 10);
        assert.equal(await a.count('u2'), 0);
        assert.equal(await kv.get('u3'), 'changed');
        assert.equal((await m.getAll('alice')).size, 0);
        assert.equal(await a.count('u4'), 11);
      });
    });

    describe('quarantine', () => {
      it('counts nothing while every value opens', async () => {
        await db.keyval<Json>(host, 'kv').set('alice', 1);
        await db.map<Json>(host, 'map').set('alice', 'k', 2);
        await db.archive<Json>(host, 'ar').append('alice', 3);
        await db.exportUser(host, 'alice');
        assert.equal(db.quarantined(), 0);
      });
    });

    describe('errors', () => {
      it('rejects bad list limits and dates', async () => {
        const a = db.archive<Json>(host, 'offline');
        await assert.rejects(a.list('alice', { limit: -1 }), RangeError);
        await assert.rejects(a.list('alice', { limit: 1.5 }), RangeError);
        await assert.rejects(a.append('alice', 1, new Date(Number.NaN)), RangeError);
        await assert.rejects(a.purgeOlderThan(new Date(Number.NaN)), RangeError);
        assert.equal(await a.count('alice'), 0);
      });

      it('rejects values that are not JSON, and lone surrogates in names', async () => {
        await assert.rejects(db.keyval<Json>(host, 's').set('alice', undefined as unknown as Json), TypeError);
        await assert.rejects(db.keyval(host, 's').set('al\ud800ice', 1), TypeError);
        await assert.rejects(db.map(host, 's').get('alice', '\udc00'), TypeError);
        assert.throws(() => db.keyval(host, 'st\u0000ore'), TypeError);
        assert.deepEqual(await db.keyval(host, 's').users(), []);
      });
    });
  });
}
