// Tests for the envelope-encryption keyring: creation, unlocking, wrong keys, damage, rotation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeyError } from './key-error.ts';
import { KEYRING_VERSION, Keyring, type StoredKeyring } from './keyring.ts';

const master = randomBytes(32);

function clone(s: StoredKeyring): StoredKeyring {
  return JSON.parse(JSON.stringify(s)) as StoredKeyring;
}

describe('Keyring', () => {
  it('stores only wrapped keys and unlocks with the master key', () => {
    const ring = Keyring.create(master, new Date(1000));
    const stored = ring.toStored();
    assert.equal(stored.v, KEYRING_VERSION);
    assert.equal(stored.active, 1);
    assert.deepEqual(stored.keys.map((k) => [k.id, k.created]), [[1, new Date(1000).toISOString()]]);
    const text = JSON.stringify(stored);
    for (const secret of [ring.activeKey.export(), ring.indexKey.export(), master]) {
      assert.equal(text.includes(secret.toString('base64')), false);
      assert.equal(text.includes(secret.toString('hex')), false);
    }
    const again = Keyring.unlock(JSON.parse(text), master);
    assert.ok(again.activeKey.equals(ring.activeKey));
    assert.ok(again.indexKey.equals(ring.indexKey));
    assert.deepEqual(again.dataKeys(), [{ id: 1, created: new Date(1000) }]);
  });

  it('tells a wrong master key from a damaged keyring', () => {
    const stored = Keyring.create(master).toStored();
    assert.throws(() => Keyring.unlock(stored, randomBytes(32)), (e: unknown) => e instanceof KeyError && /does not match this database/.test(e.message));
    assert.throws(() => Keyring.unlock(stored, randomBytes(16)), /32 bytes/);
    const swapped = clone(stored);
    swapped.index = stored.keys[0]?.wrapped ?? '';
    assert.throws(() => Keyring.unlock(swapped, master), /damaged/);
    for (const bad of [null, 'x', [], {}, { ...stored, active: 9 }, { ...stored, keys: [...stored.keys, ...stored.keys] }, { ...stored, salt: 42 }]) {
      assert.throws(() => Keyring.unlock(bad, master), /damaged/);
    }
    assert.throws(() => Keyring.unlock({ ...stored, v: KEYRING_VERSION + 1 }, master), /newer JabberX/);
  });

  it('adds data keys and re-wraps under a new master key', () => {
    const ring = Keyring.create(master);
    const next = ring.withNewDataKey().withNewDataKey();
    assert.equal(next.activeId, 3);
    assert.ok(next.dataKey(1)?.equals(ring.activeKey));
    assert.equal(next.dataKey(4), undefined);
    const newMaster = randomBytes(32);
    const stored = next.rewrapped(newMaster).toStored();
    assert.notEqual(stored.salt, next.toStored().salt);
    assert.throws(() => Keyring.unlock(stored, master), /does not match/);
    const opened = Keyring.unlock(stored, newMaster);
    assert.equal(opened.activeId, 3);
    assert.ok(opened.indexKey.equals(ring.indexKey), 'the index key survives rotation');
    assert.ok(opened.dataKey(2)?.equals(next.dataKey(2) as never));
  });

  it('reloads a keyring changed elsewhere under the same master key only', () => {
    const ring = Keyring.create(master);
    const elsewhere = Keyring.unlock(ring.toStored(), master).withNewDataKey();
    const reloaded = ring.reload(elsewhere.toStored());
    assert.equal(reloaded.activeId, 2);
    assert.throws(() => ring.reload(elsewhere.rewrapped(randomBytes(32)).toStored()), /rotated by another process/);
    assert.throws(() => ring.reload(Keyring.create(master).toStored()), KeyError);
  });
});
