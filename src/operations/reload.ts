// `jabberx reload` and SIGHUP: which settings changed in the configuration file, which of them
// the running server takes at once (certificates and TLS settings for new connections, ACME,
// the policy pages), and which need a restart. The server applies them (src/server.ts).
import type { HostConfig, ServerConfig } from '../core/config.ts';

/** What a reload did, for the log and the CLI. */
export interface ReloadReport {
  /** Settings that changed and are in force now (dotted keys, e.g. `tls.ciphers`). */
  applied: string[];
  /** Settings that changed in the file but take effect only at the next start. */
  restart: string[];
  /** Each host's certificate: `replaced`, `unchanged`, or why the new one was refused (the old one stays). */
  certificates: Record<string, string>;
  /** Set when the file no longer loads: no setting changed, the certificates were re-read. */
  configError?: string;
}

/** Sections the running server re-reads: each key applies to the next TLS handshake or page. */
const RELOADABLE_SECTIONS: ReadonlySet<string> = new Set(['tls', 'acme', 'policy']);
/** Keys of those sections that modules read once, at start (the XEP-0157 addresses in disco and the caps hash). */
const RESTART_KEYS: ReadonlySet<string> = new Set(['abuse', 'admin', 'feedback', 'sales', 'security', 'status', 'support'].map((k) => `policy.${k}_addresses`));
/** A host's own keys that apply at once (its certificate); its modules need a restart. */
const RELOADABLE_HOST_KEYS: ReadonlySet<string> = new Set(['certificate', 'key']);

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Map ? [...(x as Map<unknown, unknown>)] : x));
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);

/** Dotted keys that differ between the running configuration and the file's, split by whether they apply now. */
export function settingChanges(running: ServerConfig, fresh: ServerConfig): { applied: string[]; restart: string[] } {
  const applied: string[] = [];
  const restart: string[] = [];
  for (const key of new Set([...Object.keys(running), ...Object.keys(fresh)])) {
    if (key === 'configPath') continue;
    const a: unknown = running[key as keyof ServerConfig];
    const b: unknown = fresh[key as keyof ServerConfig];
    if (key === 'hosts') {
      hostChanges(running.hosts, fresh.hosts, applied, restart);
    } else if (isPlainObject(a) && isPlainObject(b)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const dotted = `${key}.${sub}`;
        if (json(a[sub]) !== json(b[sub])) (RELOADABLE_SECTIONS.has(key) && !RESTART_KEYS.has(dotted) ? applied : restart).push(dotted);
      }
    } else if (json(a) !== json(b)) {
      restart.push(key);
    }
  }
  return { applied, restart };
}

function hostChanges(running: Map<string, HostConfig>, fresh: Map<string, HostConfig>, applied: string[], restart: string[]): void {
  for (const name of new Set([...running.keys(), ...fresh.keys()])) {
    const a = running.get(name);
    const b = fresh.get(name);
    if (!a || !b) {
      restart.push(`hosts.${name}`);
      continue;
    }
    for (const key of ['certificate', 'key', 'modules'] as const) {
      if (json(a[key]) !== json(b[key])) (RELOADABLE_HOST_KEYS.has(key) ? applied : restart).push(`hosts.${name}.${key}`);
    }
  }
}

/**
 * The configuration the server runs with after a reload: the file's reloadable settings over the
 * running ones; everything that needs a restart stays as it runs.
 */
export function reloadableConfig(running: ServerConfig, fresh: ServerConfig): ServerConfig {
  const hosts = new Map<string, HostConfig>();
  for (const [name, host] of running.hosts) {
    const next = fresh.hosts.get(name);
    const { certificate: _c, key: _k, ...rest } = host;
    hosts.set(name, next ? { ...rest, ...(next.certificate && next.key ? { certificate: next.certificate, key: next.key } : {}) } : host);
  }
  return { ...running, tls: fresh.tls, acme: fresh.acme, policy: fresh.policy, hosts };
}
