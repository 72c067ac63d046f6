// check-config's look at the data store: stores of modules turned off that still hold data
// (src/operations/leftover-data.ts), as warnings. The database is opened read-only (beside a
// running server too), and only when it exists and its key loads: check-config writes nothing.
import { existsSync } from 'node:fs';
import type { ServerConfig } from '../core/config.ts';
import { moduleRegistry } from '../modules/registry.ts';
import { findLeftoverData } from '../operations/leftover-data.ts';
import { EncryptedBackend } from '../storage/encrypted.ts';
import { loadMasterKey } from '../storage/encryption/key-providers.ts';
import { SqliteBackend } from '../storage/sqlite.ts';

/** One warning per leftover store; a note instead when the store can't be read here. */
export async function leftoverWarnings(cfg: ServerConfig): Promise<{ warnings: string[]; notes: string[] }> {
  const { path, key_provider: provider, key_file: file, key_env: env, key_command: command } = cfg.storage;
  if (!existsSync(path)) return { warnings: [], notes: [] };
  const storage = new EncryptedBackend({
    backend: new SqliteBackend({ path, readOnly: true, busyWaitMs: cfg.storage.busy_wait }),
    masterKey: () => loadMasterKey({ provider, file, env, command: command || undefined }, { dataDir: cfg.data_dir }),
  });
  try {
    await storage.open();
    const found = await findLeftoverData(cfg, storage, moduleRegistry);
    return {
      warnings: found.map((l) => `module ${l.module} is off on ${l.host} but its store ${l.store} still holds data (kept and stated on /privacy until erased: jabberx purge-module ${l.module} --host ${l.host})`),
      notes: [],
    };
  } catch (e) {
    return { warnings: [], notes: [`the data store was not checked for data of modules turned off: ${(e as Error).message}`] };
  } finally {
    await storage.close().catch(() => undefined);
  }
}
