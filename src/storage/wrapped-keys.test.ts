// Keys wrapped by the storage key hierarchy (StorageBackend.wrapKey), for files kept outside the
// stores: opened only with the same context, readable after a data key rotation and a restart.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EncryptedBackend } from './encrypted.ts';
import { MemoryBackend } from './memory.ts';
import { SealError } from './encryption/sealing.ts';

it('wraps a key bound to its context, and opens it after a restart with the same master key', async () => {
  const data = new MemoryBackend();
  const master = randomBytes(32);
  const db = new EncryptedBackend({ backend: new MemoryBackend(data), masterKey: master });
  await db.open();
  const key = randomBytes(32);
  const wrapped = db.wrapKey(key, 'file-a');
  assert.ok(!Buffer.from(wrapped, 'base64').includes(key), 'the key is not in clear in its wrapped form');
  assert.ok(db.unwrapKey(wrapped, 'file-a').equals(key));
  assert.throws(() => db.unwrapKey(wrapped, 'file-b'), SealError);
  const altered = Buffer.from(wrapped, 'base64');
  altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
  assert.throws(() => db.unwrapKey(altered.toString('base64'), 'file-a'), SealError);
  await db.close();
  assert.throws(() => db.wrapKey(key, 'file-a'));

  const again = new EncryptedBackend({ backend: new MemoryBackend(data), masterKey: master });
  await again.open();
  assert.ok(again.unwrapKey(wrapped, 'file-a').equals(key));
  await again.close();
});
