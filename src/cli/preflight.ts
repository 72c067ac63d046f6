// What `start` would trip over, found without starting: the configured certificates and the
// master key; and what clients would (a certificate chain that does not verify). check-config
// reports all of it; nothing here writes a file (no key, no certificate).
import { existsSync } from 'node:fs';
import type { ServerConfig } from '../core/config.ts';
import { KeyError, loadMasterKey } from '../storage/encryption/key-providers.ts';
import { checkConfiguredCertificates } from '../transports/certificates.ts';
import { checkCertificates } from '../transports/certificate-check.ts';

export interface Preflight {
  problems: Error[];
  /** Things start will do that the operator should know of (e.g. make a new key file). */
  notes: string[];
  /** What works but should not stay so (a certificate about to expire, a self-signed one). */
  warnings: string[];
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

/**
 * What `check certs` finds beyond what start refuses: a chain that does not verify (clients will
 * refuse it) as a problem, the rest as warnings; each said once for a shared certificate.
 */
async function certificateFindings(cfg: ServerConfig): Promise<{ problems: Error[]; warnings: string[] }> {
  const problems = new Map<string, Error>();
  const warnings = new Set<string>();
  for (const report of await checkCertificates(cfg)) {
    for (const f of report.findings) {
      const line = `certificate of ${report.host}: ${f.message}`;
      if (f.severity === 'warning') warnings.add(line);
      else if (f.kind === 'chain') problems.set(`${report.source.certificate} ${f.message}`, new Error(line));
    }
  }
  return { problems: [...problems.values()], warnings: [...warnings] };
}

export async function preflight(cfg: ServerConfig): Promise<Preflight> {
  const problems: Error[] = await checkConfiguredCertificates(cfg);
  const certs = await certificateFindings(cfg);
  problems.push(...certs.problems);
  const warnings = certs.warnings;
  const notes: string[] = [];
  const key = await checkMasterKey(cfg);
  if (key.problem) problems.push(key.problem);
  if (key.note) notes.push(key.note);
  return { problems, notes, warnings };
}

/** The certificate problems only (start checks the key when it opens the store, before writing). */
export async function checkCertificatesBeforeStart(cfg: ServerConfig): Promise<void> {
  const [first] = await checkConfiguredCertificates(cfg);
  if (first) throw first;
}
