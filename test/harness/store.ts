// A test server's stored data, reached the way the server reaches it: its database file and its
// master key, through the storage API (src/core/storage.ts). Tests count and change stored values
// by what they are (an account's offline messages), never by a database's tables, so they hold
// for any storage backend. While the server runs, the database is opened read-only beside it.
import { join } from 'node:path';
import type { StorageBackend } from '../../src/core/storage.ts';
import { EncryptedBackend } from '../../src/storage/encrypted.ts';
import { loadMasterKey } from '../../src/storage/encryption/key-providers.ts';
import { SqliteBackend } from '../../src/storage/sqlite.ts';
import type { TestServer } from './server.ts';

type ServerFiles = Pick<TestServer, 'root' | 'dataDir'>;

/**
 * Runs fn on the server's storage and closes it. `write: true` only while the server is stopped
 * (it opens the database for writing, as a second server would).
 */
export async function withStorage<T>(server: ServerFiles, fn: (storage: StorageBackend) => Promise<T>, opts: { write?: boolean } = {}): Promise<T> {
  const storage = new EncryptedBackend({
    // The harness's storage.path, and the default key file (storage.key_file) beside the config.
    backend: new SqliteBackend({ path: join(server.dataDir, 'jabberx.sqlite'), readOnly: opts.write !== true }),
    masterKey: () => loadMasterKey({ provider: 'file', file: join(server.root, 'jabberx.key') }, { dataDir: server.dataDir }),
  });
  await storage.open();
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

/** Offline messages stored for one account (damaged ones included, as the store counts them). */
export function offlineCount(server: ServerFiles & Pick<TestServer, 'domain'>, user: string, host = server.domain): Promise<number> {
  return withStorage(server, (s) => s.archive(host, 'offline').count(user));
}

/** Offline messages stored for all accounts of all the server's hosts. */
export function offlineTotal(server: ServerFiles & Pick<TestServer, 'hosts'>): Promise<number> {
  return withStorage(server, async (s) => {
    let n = 0;
    for (const host of server.hosts) {
      for (const user of await s.keyval(host, 'accounts').users()) n += await s.archive(host, 'offline').count(user);
    }
    return n;
  });
}
