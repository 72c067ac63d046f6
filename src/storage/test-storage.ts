// Test support: the storage layer (encrypted.ts) over a byte backend, in memory unless another is
// given, with a random master key: what tests of modules and the core use as their storage.
import { randomBytes } from 'node:crypto';
import type { ByteBackend, StorageLog } from '../core/storage.ts';
import { EncryptedBackend } from './encrypted.ts';
import { MemoryBackend } from './memory.ts';

export function testStorage(backend: ByteBackend = new MemoryBackend(), log?: StorageLog): EncryptedBackend {
  return new EncryptedBackend({ backend, masterKey: randomBytes(32), ...(log ? { log } : {}) });
}
