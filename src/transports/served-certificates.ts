// The certificates the listeners serve, replaceable while the server runs: one TlsSetup object
// that every c2s listener reads at each handshake (so it is changed in place), and the https
// listeners told to take the new default context. A host whose new certificate can't be served
// keeps its old one: a reload never leaves a host without a certificate or with a bad one.
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { ServerConfig } from '../core/config.ts';
import { certificateSource, loadHostCertificate, managedCertificatePaths, type HostCertificate } from './certificates.ts';
import type { TlsSetup } from './tcp.ts';
import { createTlsServerOptions } from './tls-options.ts';

/** Each host's outcome: `replaced`, `unchanged`, or why the new certificate was refused. */
export type CertificateOutcome = Record<string, string>;

function setupFor(config: ServerConfig, certs: Map<string, HostCertificate>): TlsSetup {
  const options = createTlsServerOptions(config, certs);
  return { options, secureContext: options.secureContext ?? createSecureContext(options), contextFor: options.contextFor };
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

export class ServedCertificates {
  /** Read by the listeners at each handshake; reload() replaces its fields in place. */
  readonly setup: TlsSetup;
  #certs: Map<string, HostCertificate>;
  readonly #listeners: (() => void)[] = [];

  private constructor(certs: Map<string, HostCertificate>, setup: TlsSetup) {
    this.#certs = certs;
    this.setup = setup;
  }

  /** Every host's certificate, or the first host's error (start refuses it). */
  static async load(config: ServerConfig): Promise<ServedCertificates> {
    const certs = new Map<string, HostCertificate>();
    for (const host of config.hosts.keys()) certs.set(host, await loadHostCertificate(config, host));
    return new ServedCertificates(certs, setupFor(config, certs));
  }

  /** `fn` runs after each change (the https listeners take the new default context). */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  get(host: string): HostCertificate | undefined {
    return this.#certs.get(host);
  }

  /**
   * Re-reads every host's certificate under `config` (its TLS settings too): new connections get
   * the result, open ones keep theirs. A host whose certificate fails keeps the one it had.
   */
  async reload(config: ServerConfig): Promise<CertificateOutcome> {
    const outcome: CertificateOutcome = {};
    const next = new Map<string, HostCertificate>();
    for (const host of config.hosts.keys()) {
      const old = this.#certs.get(host);
      try {
        const fresh = await loadHostCertificate(config, host);
        next.set(host, fresh);
        outcome[host] = old && fingerprint(old.cert) === fingerprint(fresh.cert) ? 'unchanged' : 'replaced';
      } catch (e) {
        if (!old) throw e;
        next.set(host, old);
        outcome[host] = (e as Error).message;
      }
    }
    Object.assign(this.setup, setupFor(config, next));
    this.#certs = next;
    for (const fn of this.#listeners) fn();
    return outcome;
  }

  /** The files to watch for renewals: every host's certificate and key, configured or in data_dir/certs/. */
  static files(config: ServerConfig): string[] {
    const out = new Set<string>();
    for (const host of config.hosts.keys()) {
      const source = certificateSource(config, host);
      out.add(source.certificate).add(source.key);
      // Where `cert import` or ACME will put one, so a first one is noticed too.
      if (source.kind === 'self-signed') out.add(managedCertificatePaths(config.data_dir, host).certificate);
    }
    return [...out];
  }
}
