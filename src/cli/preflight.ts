// What `start` would trip over, found without starting: the configured certificates and the
// master key. check-config reports all of it; nothing here writes a file (no key, no certificate).
import { existsSync } from 'node:fs';
import type { ServerConfig } from '../core/config.ts';
import { KeyError, loadMasterKey } from '../storage/encryption/key-providers.ts';
import { checkConfiguredCertificates } from '../transports/certificates.ts';

export interface Preflight {
  problems: Error[];
  /** Things start will do that the operator should know of (e.g. make a new key file). */
  notes: string[];
}

/** Whether the master key can be loaded as `start` would load it; a new install's key file is a note. */
async function checkMasterKey(cfg: ServerConfig): Promise<{ problem?: Error; note?: string }> {
  const { path, key_provider: provider, key_file: file, key_env: env, key_command: command } = cfg.storage;
  const firstStart = provider === 'file' && !existsSync(file) && !existsSync(path);
  try {
    (await loadMasterKey({ provider, file, env, command: command || undefined }, { dataDir: cfg.data_dir })).fill(0);
    return {};
  } catch (e) {
    if (!(e instanceof KeyError)) throw e;
    // No key file and no database yet: start makes the key file (unless the path is refused).
    if (firstStart && e.message.includes('does not exist')) return { note: `no master key yet: start will make ${file} (keep a copy apart from the data)` };
    return { problem: e };
  }
}

export async function preflight(cfg: ServerConfig): Promise<Preflight> {
  const problems: Error[] = await checkConfiguredCertificates(cfg);
  const notes: string[] = [];
  const key = await checkMasterKey(cfg);
  if (key.problem) problems.push(key.problem);
  if (key.note) notes.push(key.note);
  return { problems, notes };
}

/** The certificate problems only (start checks the key when it opens the store, before writing). */
export async function checkCertificatesBeforeStart(cfg: ServerConfig): Promise<void> {
  const [first] = await checkConfiguredCertificates(cfg);
  if (first) throw first;
}
