// Tests for the storage layer's own rules (encryption at rest, issue 3), beyond the storage
// contract every byte backend runs (backend.contract.ts, which holds the raw-byte privacy checks):
// the master key's life cycle, the reserved keyring host, closed-state errors, and keyring reloads.
// On the in-memory byte backend: nothing here depends on the backend.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ByteBackend, Json, RecordRef } from '../core/storage.ts';
import { EncryptedBackend, KeyError } from './encrypted.ts';
import { RecordingBackend } from './contract/fixture.ts';
import { MemoryBackend } from './memory.ts';

const h = 'host.example';

describe('EncryptedBackend (keys, reserved names, life cycle)', () => {
  let data: MemoryBackend;
  let key: Buffer;
  const opened: EncryptedBackend[] = [];

  function backend(masterKey: Uint8Array | (() => Promise<Uint8Array>) = key, bytes: ByteBackend = new MemoryBackend(data)): EncryptedBackend {
    return new EncryptedBackend({ backend: bytes, masterKey });
  }

  async function open(masterKey: Uint8Array | (() => Promise<Uint8Array>) = key, bytes?: ByteBackend): Promise<EncryptedBackend> {
    const db = backend(masterKey, bytes);
    await db.open();
    opened.push(db);
    return db;
  }

  beforeEach(() => {
    data = new MemoryBackend();
    key = randomBytes(32);
  });

  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
  });

  it('loads the key before touching the backend: a failing key provider leaves it unopened', async () => {
    class Counting extends MemoryBackend {
      opens = 0;
      override async open(): Promise<void> {
        this.opens++;
        await super.open();
      }
    }
    const spy = new Counting(data);
    await assert.rejects(backend(async () => { throw new KeyError('no key'); }, spy).open(), /no key/);
    await assert.rejects(backend(randomBytes(16), spy).open(), KeyError);
    assert.equal(spy.opens, 0);
    assert.equal(data.rawBytes().length, 0);
  });

  it('wipes a master key it loaded itself, but not one it was given', async () => {
    const given = Buffer.from(key);
    await open(given);
    assert.ok(given.equals(key));
    const loaded = Buffer.from(key);
    await open(async () => loaded);
    assert.ok(loaded.every((b) => b === 0));
  });

  it('makes one keyring when two storages start on new data at once', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    await a.keyval(h, 'vcard').set('alice', 'from a');
    assert.equal(await b.keyval(h, 'vcard').get('alice'), 'from a');
    assert.deepEqual(a.keyInfo(), b.keyInfo());
  });

  it('rotateMasterKey: the running storage keeps working; a key of the wrong size is refused', async () => {
    const db = await open();
    await db.keyval(h, 'vcard').set('alice', 'before');
    await db.rotateMasterKey(randomBytes(32));
    assert.equal(await db.keyval(h, 'vcard').get('alice'), 'before');
    await db.keyval(h, 'vcard').set('bob', 'after');
    assert.equal(await db.keyval(h, 'vcard').get('bob'), 'after');
    await assert.rejects(db.rotateMasterKey(randomBytes(31)), KeyError);
  });

  it('quarantines a value naming a data key that even a reloaded keyring lacks, yet picks up a real new one', async () => {
    const rec = new RecordingBackend(new MemoryBackend(data));
    const db = await open(key, rec);
    await db.map(h, 'roster').set('alice', 'a@x', 'A');
    await db.map(h, 'roster').set('alice', 'b@x', 'B');
    const first = rec.puts.find((p) => p.ref.store === 'roster');
    assert.ok(first);
    const damaged = Buffer.from(first.value);
    damaged.writeUInt32BE(0x7000_0001, 1); // the key id in the sealed header
    await rec.write([{ op: 'put', ref: first.ref, value: damaged }]);
    assert.equal((await db.map(h, 'roster').getAll('alice')).size, 1);
    assert.equal(db.quarantined(), 1);
    // a data key added by another process is picked up (a reload and a retry, not quarantine)
    const other = await open();
    await other.rotateDataKey();
    await other.map(h, 'roster').set('alice', 'c@x', 'C');
    assert.equal((await db.map(h, 'roster').getAll('alice')).get('c@x'), 'C');
    assert.equal(db.keyInfo().active, 2);
    assert.equal(db.quarantined(), 1);
  });

  it('reserves the empty host name for the keyring', async () => {
    const db = await open();
    assert.throws(() => db.keyval('', '_keyring'), /reserved/);
    assert.throws(() => db.map('', 's'), /reserved/);
    assert.throws(() => db.archive('', 's'), /reserved/);
    await assert.rejects(db.exportUser('', '_'), /reserved/);
    await assert.rejects(db.deleteUser('', '_'), /reserved/);
  });

  it('keeps the keyring as plain JSON under the reserved name, every secret in it wrapped', async () => {
    const db = await open();
    const ref: RecordRef = { host: '', kind: 'keyval', store: '_keyring', owner: '_', key: '' };
    const stored = JSON.parse(Buffer.from((await db.backend.get(ref)) ?? []).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(stored).sort(), ['active', 'check', 'index', 'keys', 'salt', 'v']);
    assert.ok(!data.rawBytes().includes(key));
  });

  it('rejects calls before open and after close', async () => {
    const db = backend();
    const kv = db.keyval<Json>(h, 's');
    await assert.rejects(kv.get('alice'), /not open/);
    await assert.rejects(db.transaction(async () => 1), /not open/);
    await db.open();
    await kv.set('alice', 1);
    assert.equal(db.kind, 'encrypted-memory');
    await db.close();
    await assert.rejects(kv.get('alice'), /not open/);
    await assert.rejects(kv.users(), /not open/);
    await assert.rejects(kv.transaction(async () => 1), /not open/);
    await assert.rejects(db.archive(h, 'a').purgeOlderThan(new Date()), /not open/);
    await assert.rejects(db.archive(h, 'a').count('alice'), /not open/);
    await assert.rejects(db.rotateDataKey(), /not open/);
    await assert.rejects(db.flush(), /not open/);
  });
});
