// What the storage layer leaves at rest in the backend under test, read as raw bytes: no name or
// value in clear, names hashed, every value bound to its record, damaged values quarantined,
// deleted values erased, keys checked before anything is touched. Part of ../backend.contract.ts.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ByteBackend, Json, RecordRef } from '../../core/storage.ts';
import { KeyError, type EncryptedBackend } from '../encrypted.ts';
import { Keyring } from '../encryption/keyring.ts';
import { seal } from '../encryption/sealing.ts';
import { recordAad, refAad } from '../record-codec.ts';
import { RecordingBackend, holds, storageOver, testHosts, type ByteBackendFixture, type FixtureFactory } from './fixture.ts';

const KEYRING: RecordRef = { host: '', kind: 'keyval', store: '_keyring', owner: '_', key: '' };
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The first 32 bytes of a sealed value (header, IV, ciphertext): unique, and stored in one piece. */
const fingerprint = (v: Uint8Array): Uint8Array => v.subarray(0, 32);

export function atRestSuite(makeFixture: FixtureFactory): void {
  describe('at rest', () => {
    let fixture: ByteBackendFixture;
    let key: Buffer;
    let host: string;
    let host2: string;
    let warnings: Record<string, unknown>[];
    const opened: { storage: EncryptedBackend; rec: RecordingBackend }[] = [];
    const log = { warn: (obj: Record<string, unknown>) => void warnings.push(obj) };

    /** Opens the storage layer over a new backend on the fixture's data (a start of the server). */
    async function start(masterKey: Uint8Array = key): Promise<{ storage: EncryptedBackend; rec: RecordingBackend }> {
      const rec = new RecordingBackend(fixture.backend());
      const storage = storageOver(rec, masterKey, log);
      await storage.open();
      const s = { storage, rec };
      opened.push(s);
      return s;
    }

    async function stopAll(): Promise<void> {
      for (const { storage } of opened.splice(0)) await storage.close();
    }

    /** Runs fn on the bare backend (the storage layer stopped), e.g. to damage stored bytes. */
    async function onBackend(fn: (b: ByteBackend) => Promise<void>): Promise<void> {
      await stopAll();
      const b = fixture.backend();
      await b.open();
      try {
        await fn(b);
      } finally {
        await b.close();
      }
    }

    beforeEach(async () => {
      fixture = await makeFixture();
      key = randomBytes(32);
      ({ host, host2 } = testHosts());
      warnings = [];
    });

    afterEach(async () => {
      try {
        await stopAll();
      } finally {
        await fixture.cleanup();
      }
    });

    function leaks(markers: string[]): string[] {
      const raw = fixture.rawBytes();
      return markers.filter((m) => raw.includes(Buffer.from(m, 'utf8')) || raw.includes(Buffer.from(m, 'utf16le')));
    }

    it('leaves no user name, map key or value in clear; reads everything back by its real names', async () => {
      const { storage: db } = await start();
      const tag = 'MARK7f3a';
      const user = `user${tag}U`;
      const contact = `contact${tag}K@example.org`;
      const markers = [user, contact, `vcard${tag}V`, `account${tag}V`, `roster${tag}V`, `offline${tag}V`, `namespace${tag}K`, `private${tag}V`];
      await db.keyval(host, 'vcard').set(user, { fn: `vcard${tag}V` });
      await db.keyval(host, 'accounts').set(user, { email: `account${tag}V` });
      await db.map(host, 'roster').set(user, contact, { name: `roster${tag}V` });
      await db.map(host, 'private').set(user, `namespace${tag}K`, `private${tag}V`);
      for (let i = 0; i < 5; i++) await db.archive(host, 'offline').append(user, `offline${tag}V #${i}`);
      await db.archive(host, 'offline').append(user, `offline${tag}V `.repeat(10_000)); // larger than a page
      await db.transaction(async (tx) => tx.map(db.map(host, 'roster')).set(user, `tx${contact}`, { name: `roster${tag}V` }));
      // while open (for SQLite: still in the WAL), then flushed, then closed
      assert.deepEqual(leaks(markers), []);
      assert.ok(holds(fixture.rawBytes(), host), 'sanity: host names are in clear, so the raw bytes were read');
      await db.flush();
      assert.deepEqual(leaks(markers), []);
      await stopAll();
      assert.deepEqual(leaks(markers), []);
      assert.ok(holds(fixture.rawBytes(), host));

      const { storage: again } = await start();
      assert.deepEqual(await again.keyval(host, 'vcard').users(), [user]);
      assert.deepEqual(await again.keyval(host, 'vcard').get(user), { fn: `vcard${tag}V` });
      assert.deepEqual([...(await again.map(host, 'roster').getAll(user)).keys()], [contact, `tx${contact}`]);
      assert.equal(await again.archive(host, 'offline').count(user), 6);
      const exp = await again.exportUser(host, user);
      assert.equal(exp.user, user);
      assert.deepEqual(exp.map['private'], { [`namespace${tag}K`]: `private${tag}V` });
      assert.equal(exp.archive['offline']?.[0]?.value, `offline${tag}V #0`);
    });

    it('hashes names: a user\'s hash differs per host, a contact\'s per user', async () => {
      const { storage: db, rec } = await start();
      await db.map(host, 'roster').set('alice', 'carol@example.org', 1);
      await db.map(host, 'roster').set('bob', 'carol@example.org', 1);
      await db.keyval(host, 's').set('alice', 1);
      await db.keyval(host2, 's').set('alice', 1);
      await db.archive(host, 'offline').append('alice', 1);
      const roster = rec.puts.filter((p) => p.ref.store === 'roster');
      assert.equal(roster.length, 2);
      assert.notEqual(roster[0]?.ref.key, roster[1]?.ref.key);
      const s = rec.puts.filter((p) => p.ref.store === 's');
      assert.notEqual(s[0]?.ref.owner, s[1]?.ref.owner);
      assert.equal(s[0]?.ref.owner, roster[0]?.ref.owner, 'one hash per user and host, whatever the store');
      assert.equal(rec.appends[0]?.scope.owner, s[0]?.ref.owner);
      for (const name of [...roster, ...s].flatMap((p) => [p.ref.owner, p.ref.key]).filter((n) => n !== '')) {
        assert.match(name, /^[A-Za-z0-9_-]{32}$/);
      }
    });

    it('binds each value to its record: a value moved to another record never opens, it is quarantined', async () => {
      const { storage: db, rec } = await start();
      await db.keyval(host, 'vcard').set('alice', 'alice-secret');
      await db.keyval(host, 'vcard').set('mallory', 'mallory-own');
      await db.map(host, 'roster').set('alice', 'a@x', 'A');
      await db.map(host, 'roster').set('alice', 'b@x', 'B');
      const id1 = await db.archive(host, 'offline').append('alice', 'first');
      await db.archive(host, 'offline').append('alice', 'second');
      await db.keyval(host2, 'vcard').set('alice', 'elsewhere');
      const [aliceVcard, malloryVcard] = rec.puts.filter((p) => p.ref.store === 'vcard' && p.ref.host === host);
      const [rosterA, rosterB] = rec.puts.filter((p) => p.ref.store === 'roster');
      const first = rec.appends[0];
      const elsewhere = rec.lastPut('vcard', (p) => p.ref.host === host2);
      assert.ok(aliceVcard && malloryVcard && rosterA && rosterB && first);

      // someone with write access to the data copies sealed values between records
      await onBackend(async (b) => {
        await b.write([
          { op: 'put', ref: malloryVcard.ref, value: aliceVcard.value }, // alice's vCard into mallory's record
          { op: 'put', ref: rosterB.ref, value: rosterA.value }, // her a@x item into her b@x record
          // alice's vCard on the other host, into this host with its owner name
          { op: 'put', ref: { ...elsewhere.ref, host, store: 'vcard2' }, value: elsewhere.value },
        ]);
        await b.append(first.scope, Date.now(), () => first.value); // the first message as a new entry
      });

      const { storage: again } = await start();
      assert.equal(again.quarantined(), 0);
      assert.equal(await again.keyval(host, 'vcard').get('alice'), 'alice-secret');
      assert.equal(await again.keyval(host, 'vcard').get('mallory'), undefined);
      assert.equal(again.quarantined(), 1);
      assert.equal(await again.map(host, 'roster').get('alice', 'a@x'), 'A');
      assert.equal(await again.map(host, 'roster').get('alice', 'b@x'), undefined);
      assert.deepEqual([...(await again.map(host, 'roster').getAll('alice'))], [['a@x', 'A']]);
      const listed = await again.archive(host, 'offline').list('alice');
      assert.deepEqual(listed.map((e) => [e.id, e.value]), [[id1, 'first'], [listed[1]?.id, 'second']]);
      assert.equal(await again.archive(host, 'offline').count('alice'), 3);
      // the moved record is unreachable by name (user hashes are per host) and left out when listed
      assert.equal(await again.keyval(host, 'vcard2').get('alice'), undefined);
      assert.deepEqual(await again.keyval(host, 'vcard2').users(), []);
      assert.deepEqual(await again.keyval(host, 'vcard').users(), ['alice']);
      const exp = await again.exportUser(host, 'alice');
      assert.deepEqual(exp.keyval, { vcard: 'alice-secret' });
      assert.deepEqual(exp.map, { roster: { 'a@x': 'A' } });
      assert.deepEqual(exp.archive['offline']?.map((e) => e.value), ['first', 'second']);
      // four damaged records, each counted once however often it was read; warnings name stores only
      assert.equal(again.quarantined(), 4);
      assert.equal(warnings.length, 4);
      assert.deepEqual(new Set(warnings.map((w) => w['store'])), new Set(['vcard', 'roster', 'offline', 'vcard2']));
      for (const w of warnings) {
        const text = JSON.stringify(w);
        for (const secret of ['alice', 'mallory', 'a@x', 'b@x', 'secret', 'first', 'second']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      }
    });

    it('quarantines damaged values (altered bytes, not JSON, unknown data key, not sealed) and serves the rest', async () => {
      const { storage: db, rec } = await start();
      const offline = db.archive<Json>(host, 'offline');
      for (const body of ['m1', 'm2 SECRETBODY', 'm3']) await offline.append('juliet', { body });
      await db.map(host, 'roster').set('juliet', 'romeo@x', { name: 'Romeo' });
      await db.map(host, 'roster').set('juliet', 'tybalt@x', { name: 'SECRETNAME' });
      await db.map(host, 'roster').set('juliet', 'paris@x', { name: 'SECRETPARIS' });
      await db.keyval(host, 'vcard').set('juliet', { fn: 'Juliet' });
      await db.keyval(host, 'vcard').set('nurse', { fn: 'SECRETFN' });
      await db.keyval(host, 'vcard').set('romeo', { fn: 'SECRETROMEO' });
      const m2 = rec.appends[1];
      const [, tybalt, paris] = rec.puts.filter((p) => p.ref.store === 'roster');
      const [, nurse, romeo] = rec.puts.filter((p) => p.ref.store === 'vcard');
      assert.ok(m2 && tybalt && paris && nurse && romeo);
      const flip = (v: Uint8Array, at: number): Uint8Array => {
        const out = Uint8Array.from(v);
        out[at] = (out[at] ?? 0) ^ 0x40;
        return out;
      };
      const ring = Keyring.unlock(JSON.parse(Buffer.from((await rec.get(KEYRING)) ?? []).toString('utf8')), key);

      await onBackend(async (b) => {
        // a message altered on disk (a bad sector, a careless hand edit)
        await b.deleteEntries(m2.scope, [m2.id]);
        await b.append(m2.scope, Date.now(), () => flip(m2.value, Math.floor(m2.value.length / 2)));
        await b.write([
          { op: 'put', ref: tybalt.ref, value: flip(tybalt.value, tybalt.value.length - 20) },
          // sealed right, for its very record, around bytes that are not JSON
          { op: 'put', ref: nurse.ref, value: seal(ring.activeKey, ring.activeId, bytes('{"u":"nurse","v": SECRETFN'), refAad(nurse.ref)) },
          // naming a data key no keyring holds
          { op: 'put', ref: paris.ref, value: (() => { const v = Buffer.from(paris.value); v.writeUInt32BE(0x7000_0001, 1); return v; })() },
          // never sealed at all
          { op: 'put', ref: romeo.ref, value: bytes('{"u":"romeo","v":{"fn":"SECRETROMEO"}}') },
        ]);
      });

      const { storage: again } = await start();
      const a = again.archive<Json>(host, 'offline');
      assert.deepEqual((await a.list('juliet')).map((e) => e.value), [{ body: 'm1' }, { body: 'm3' }]);
      assert.equal(await a.count('juliet'), 3, 'the damaged entry stays stored until deleted or purged');
      assert.deepEqual([...(await again.map(host, 'roster').getAll('juliet')).keys()], ['romeo@x']);
      assert.equal(await again.map(host, 'roster').get('juliet', 'tybalt@x'), undefined);
      assert.equal(await again.keyval(host, 'vcard').get('nurse'), undefined);
      assert.equal(await again.keyval(host, 'vcard').get('romeo'), undefined);
      assert.deepEqual(await again.keyval(host, 'vcard').get('juliet'), { fn: 'Juliet' });
      assert.deepEqual(await again.keyval(host, 'vcard').users(), ['juliet']);
      const exp = await again.exportUser(host, 'juliet');
      assert.deepEqual(exp.archive['offline']?.map((e) => e.value), [{ body: 'm1' }, { body: 'm3' }]);
      assert.deepEqual(Object.keys(exp.map['roster'] ?? {}), ['romeo@x']);
      assert.deepEqual(Object.keys((await again.exportUser(host, 'nurse')).keyval), []);

      assert.equal(again.quarantined(), 5, 'each damaged record counted once, however often read');
      assert.equal(warnings.length, 5);
      assert.deepEqual(warnings.map((w) => w['store']).sort(), ['offline', 'roster', 'roster', 'vcard', 'vcard']);
      for (const w of warnings) {
        const text = JSON.stringify(w);
        for (const secret of ['juliet', 'nurse', 'tybalt', 'paris', 'romeo', 'SECRET']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      }
      // a damaged entry goes with the user's other entries
      await a.delete('juliet', (await a.list('juliet')).map((e) => e.id));
      assert.equal(await a.count('juliet'), 1);
      await a.deleteAll('juliet');
      assert.equal(await a.count('juliet'), 0);
      // writing over a damaged record repairs it
      await again.keyval(host, 'vcard').set('nurse', { fn: 'Nurse' });
      assert.deepEqual(await again.keyval(host, 'vcard').get('nurse'), { fn: 'Nurse' });
    });

    it('erases deleted and overwritten values, and the names of a deleted user (secure delete)', async () => {
      const { storage: db, rec } = await start();
      const keep = db.keyval<Json>(host, 'vcard');
      await keep.set('bob', { fn: 'Bob' });
      await db.keyval(host, 'vcard').set('alice', 'old vcard');
      await db.map(host, 'roster').set('alice', 'gone@x', 'deleted item');
      await db.map(host, 'private').set('alice', 'urn:a', 'cleared');
      const offline = db.archive<Json>(host, 'offline');
      const deletedId = await offline.append('alice', 'delivered');
      await offline.append('alice', 'expired', new Date(1000));
      await db.keyval(host, 'meta').set('alice', 1);
      await db.keyval(host, 'vcard').set('victor', { fn: 'Victor' });
      await db.map(host, 'roster').set('victor', 'x@x', 'victor item');
      await db.archive(host, 'offline').append('victor', 'big '.repeat(20_000)); // overflow pages
      await db.archive(host, 'offline').append('victor', 'small');
      const victor = rec.lastPut('vcard').ref.owner;
      const bobValue = rec.puts.find((p) => p.ref.store === 'vcard')?.value;
      assert.ok(bobValue);
      const sealed = [...rec.puts.filter((p) => p.ref.host !== '').map((p) => p.value), ...rec.appends.map((a) => a.value)];
      await db.flush();
      const raw = fixture.rawBytes();
      for (const v of sealed) assert.ok(holds(raw, fingerprint(v)), 'sanity: the sealed values are in the raw bytes');
      assert.ok(holds(raw, victor), 'sanity: the hashed user name is in the raw bytes');

      const putsBefore = rec.puts.length;
      await db.keyval(host, 'vcard').set('alice', 'new vcard');
      await db.map(host, 'roster').delete('alice', 'gone@x');
      await db.map(host, 'private').deleteAll('alice');
      await offline.delete('alice', [deletedId]);
      assert.equal(await offline.purgeOlderThan(new Date(2000)), 1);
      await db.transaction(async (tx) => tx.keyval(db.keyval(host, 'meta')).set('alice', 2));
      await db.deleteUser(host, 'victor');
      const kept = [bobValue, ...rec.puts.slice(putsBefore).map((p) => p.value)];
      assert.equal(kept.length, 3);
      await db.flush();
      const after = fixture.rawBytes();
      for (const v of sealed.filter((g) => g !== bobValue)) {
        assert.ok(!holds(after, fingerprint(v)), 'a deleted or overwritten value is left at rest');
        for (let at = 1000; at + 32 < v.length; at += 997) assert.ok(!holds(after, v.subarray(at, at + 32)), 'part of a deleted large value is left at rest');
      }
      assert.ok(!holds(after, victor), 'the hashed name of a deleted user is left at rest');
      for (const v of kept) assert.ok(holds(after, fingerprint(v)), 'sanity: values kept are still there');
      assert.deepEqual(await keep.get('bob'), { fn: 'Bob' });
    });

    it('eraseStore erases a whole store of a host at rest, and leaves the rest', async () => {
      const { storage: db, rec } = await start();
      const archive = db.archive<Json>(host, 'mam');
      await archive.append('alice', 'archived one');
      await archive.append('bob', 'archived two');
      await db.keyval<Json>(host, 'mam-prefs').set('alice', 'roster');
      await db.archive<Json>(host2, 'mam').append('alice', 'other host');
      const erased = rec.appends.filter((a) => a.scope.host === host).map((a) => a.value);
      const kept = rec.appends.filter((a) => a.scope.host === host2).map((a) => a.value);
      await db.flush();
      for (const v of erased) assert.ok(holds(fixture.rawBytes(), fingerprint(v)), 'sanity: the sealed entries are at rest');
      assert.equal(await db.storeHasData(host, 'archive', 'mam'), true);
      assert.equal(await db.eraseStore(host, 'archive', 'mam'), 2);
      assert.equal(await db.storeHasData(host, 'archive', 'mam'), false);
      assert.equal(await db.storeHasData(host, 'keyval', 'mam-prefs'), true);
      assert.equal(await db.storeHasData(host2, 'archive', 'mam'), true);
      const after = fixture.rawBytes();
      for (const v of erased) assert.ok(!holds(after, fingerprint(v)), 'an erased entry is left at rest');
      for (const v of kept) assert.ok(holds(after, fingerprint(v)), 'sanity: the other host keeps its entry');
      assert.deepEqual((await db.archive<Json>(host2, 'mam').list('alice')).map((e) => e.value), ['other host']);
    });

    it('refuses a wrong master key with KeyError, changing no byte; the right key finds everything', async () => {
      const { storage: db } = await start();
      await db.keyval(host, 'vcard').set('alice', 'A');
      await db.archive(host, 'offline').append('alice', 'm');
      await stopAll();
      const before = fixture.rawBytes();
      await assert.rejects(start(randomBytes(32)), (err: unknown) => {
        assert.ok(err instanceof KeyError);
        assert.match(err.message, /master key does not match this database/);
        return true;
      });
      await assert.rejects(start(randomBytes(16)), KeyError);
      assert.ok(fixture.rawBytes().equals(before), 'the raw bytes are unchanged');
      const { storage: again } = await start();
      assert.equal(await again.keyval(host, 'vcard').get('alice'), 'A');
      assert.equal(await again.archive(host, 'offline').count('alice'), 1);
    });

    it('never replaces a keyring it cannot read: start is refused, no byte changed', async () => {
      const { storage: db } = await start();
      await db.keyval(host, 'vcard').set('alice', 'x');
      await onBackend(async (b) => b.write([{ op: 'put', ref: KEYRING, value: bytes('{"not json') }]));
      const before = fixture.rawBytes();
      await assert.rejects(start(), (err: unknown) => err instanceof KeyError && /keyring stored in the database is damaged/.test(err.message));
      assert.ok(fixture.rawBytes().equals(before));
    });

    it('refuses a keyring whose wrapped keys were altered', async () => {
      await start();
      await onBackend(async (b) => {
        const ring = JSON.parse(Buffer.from((await b.get(KEYRING)) ?? []).toString('utf8')) as { keys: { wrapped: string }[] };
        const wrapped = Buffer.from(ring.keys[0]?.wrapped ?? '', 'base64');
        wrapped[wrapped.length - 1] = (wrapped[wrapped.length - 1] ?? 0) ^ 1;
        (ring.keys[0] as { wrapped: string }).wrapped = wrapped.toString('base64');
        await b.write([{ op: 'put', ref: KEYRING, value: bytes(JSON.stringify(ring)) }]);
      });
      await assert.rejects(start(), /keyring stored in the database is damaged/);
    });

    it('rotates keys: new values use the new data key, old ones stay readable; a new master key is needed after', async () => {
      const { storage: db, rec } = await start();
      await db.keyval(host, 'vcard').set('alice', 'old');
      await db.archive(host, 'offline').append('alice', 'old message');
      assert.equal(db.keyInfo().active, 1);
      const [two, three] = await Promise.all([db.rotateDataKey(), db.rotateDataKey()]);
      assert.deepEqual([two, three], [2, 3]);
      await db.keyval(host, 'vcard').set('bob', 'new');
      const keyIds = rec.puts.filter((p) => p.ref.store === 'vcard').map((p) => Buffer.from(p.value).readUInt32BE(1));
      assert.deepEqual(keyIds, [1, 3]);
      const newKey = randomBytes(32);
      await db.rotateMasterKey(newKey);
      assert.equal(await db.keyval(host, 'vcard').get('alice'), 'old');
      await stopAll();

      await assert.rejects(start(key), KeyError);
      const { storage: again } = await start(newKey);
      assert.equal(again.keyInfo().active, 3);
      assert.deepEqual(again.keyInfo().dataKeys.map((k) => k.id), [1, 2, 3]);
      assert.equal(await again.keyval(host, 'vcard').get('alice'), 'old');
      assert.equal(await again.keyval(host, 'vcard').get('bob'), 'new');
      assert.deepEqual((await again.archive(host, 'offline').list('alice')).map((e) => e.value), ['old message']);
    });

    it('two storages on the same data: a data key one adds is picked up by the other, and kept', async () => {
      const { storage: a } = await start();
      const { storage: b } = await start();
      await b.rotateDataKey();
      await b.keyval(host, 'vcard').set('alice', 'sealed with key 2');
      await b.map(host, 'roster').set('alice', 'c@x', 'C');
      assert.equal(await a.keyval(host, 'vcard').get('alice'), 'sealed with key 2');
      assert.equal(a.keyInfo().active, 2);
      assert.equal((await a.map(host, 'roster').getAll('alice')).get('c@x'), 'C');
      await a.rotateDataKey(); // builds on the stored keyring: key 2 is not lost
      assert.deepEqual(a.keyInfo().dataKeys.map((k) => k.id), [1, 2, 3]);
      assert.equal(a.quarantined() + b.quarantined(), 0);
      // after the other rotated the master key, this one refuses to change the keyring
      await b.rotateMasterKey(randomBytes(32));
      await assert.rejects(a.rotateDataKey(), /rotated by another process/);
    });

    it('AAD: the record identity, with hashed names and the archive entry id', () => {
      assert.equal(recordAad('archive', 'h', 'o', 's', '7'), 'archive\u0000h\u0000o\u0000s\u00007');
      assert.equal(refAad({ host: 'h', kind: 'map', store: 's', owner: 'o', key: 'k' }), 'map\u0000h\u0000o\u0000s\u0000k');
    });
  });
}
