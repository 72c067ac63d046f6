// `jabberx check certs` (also part of check-config): everything wrong or soon wrong with each
// host's certificate, as errors (clients will fail now) and warnings (they will fail soon, or a
// development certificate). RFC 6125 names, RFC 5280 §6 path validation reduced to what
// node:crypto offers: each certificate signed by the next, ending at a CA the system trusts.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { getCACertificates } from 'node:tls';
import type { ServerConfig } from '../core/config.ts';
import { certificateNames, certificateSource, namesHost, unreadable, type CertificateSource } from './certificates.ts';

const DAY_MS = 86_400_000;
/** A certificate this close to its end is a warning. */
export const EXPIRY_WARNING_MS = 30 * DAY_MS;

export type Severity = 'error' | 'warning';

/** What a finding is about: check-config fails on `chain` errors besides what start refuses. */
export type FindingKind = 'file' | 'key' | 'expiry' | 'name' | 'chain' | 'self-signed' | 'service-domain';

export interface Finding {
  severity: Severity;
  kind: FindingKind;
  message: string;
}

export interface HostCertificateReport {
  host: string;
  source: CertificateSource;
  findings: Finding[];
  /** Present when the certificate could be read. */
  expiresAt?: Date;
  names?: string;
}

/** Every PEM certificate in a file, leaf first (a fullchain.pem holds the intermediates too). */
export function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

let trustedCache: X509Certificate[] | undefined;

/** The CAs Node's TLS clients trust here: its bundled roots, the system's and NODE_EXTRA_CA_CERTS. */
export function trustedCertificates(): X509Certificate[] {
  if (trustedCache) return trustedCache;
  const pems = new Set<string>();
  for (const kind of ['bundled', 'system', 'extra'] as const) {
    try {
      for (const p of getCACertificates(kind)) pems.add(p);
    } catch {
      // a store this platform lacks
    }
  }
  const out: X509Certificate[] = [];
  for (const p of pems) {
    try {
      out.push(new X509Certificate(p));
    } catch {
      // an entry OpenSSL reads but X509Certificate does not: skip it
    }
  }
  return (trustedCache = out);
}

const signedBy = (cert: X509Certificate, issuer: X509Certificate): boolean => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
/** Self-signed: its own issuer (a leaf's key usage may forbid signing, so checkIssued can't tell). */
const selfSigned = (cert: X509Certificate): boolean => cert.issuer === cert.subject && cert.verify(cert.publicKey);

/**
 * Why the chain does not verify, or undefined when each certificate is signed by the next one in
 * the file or by a trusted CA, every intermediate is valid now, and the path ends at a trusted CA.
 */
export function chainProblem(chain: X509Certificate[], trusted: X509Certificate[], now = Date.now()): string | undefined {
  const [leaf] = chain;
  if (!leaf) return 'no certificate';
  let current = leaf;
  const rest = chain.slice(1);
  for (let depth = 0; depth < 10; depth++) {
    if (trusted.some((t) => t.fingerprint256 === current.fingerprint256 || signedBy(current, t))) return undefined;
    if (selfSigned(current)) return current === leaf ? 'it is self-signed: clients will not trust it' : `it ends at ${current.subject.replace(/\n/g, ', ')}, a CA this machine does not trust`;
    const next = rest.find((c) => c !== current && signedBy(current, c));
    if (!next) return `the chain is incomplete: no certificate of its issuer (${current.issuer.replace(/\n/g, ', ')}) in the file or among the trusted CAs (serve fullchain.pem, not cert.pem)`;
    if (Date.parse(next.validTo) <= now) return `the intermediate ${next.subject.replace(/\n/g, ', ')} expired on ${new Date(next.validTo).toISOString()}`;
    current = next;
  }
  return 'the chain is longer than 10 certificates';
}

const day = (d: Date) => d.toISOString().slice(0, 10);

async function readOrFinding(path: string, what: string, findings: Finding[]): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    findings.push({ severity: 'error', kind: 'file', message: `${what} ${path}: cannot read: ${unreadable(e)}` });
    return undefined;
  }
}

/**
 * The report of one host's certificate. `extraNames` are service domains the same certificate
 * should cover (warnings: only federation needs them).
 */
export async function checkHostCertificate(config: ServerConfig, host: string, opts: { extraNames?: string[]; now?: number; trusted?: X509Certificate[] } = {}): Promise<HostCertificateReport> {
  const now = opts.now ?? Date.now();
  const source = certificateSource(config, host);
  const report: HostCertificateReport = { host, source, findings: [] };
  const findings = report.findings;
  if (source.kind === 'self-signed') {
    const what = config.acme.enabled ? 'ACME will replace it once the server runs' : 'configure a real one (tls.certificate, jabberx cert import, or acme)';
    try {
      await readFile(source.certificate);
    } catch {
      findings.push({ severity: 'warning', kind: 'self-signed', message: `no certificate configured: start will make a self-signed development certificate, which clients do not trust; ${what}` });
      return report;
    }
    findings.push({ severity: 'warning', kind: 'self-signed', message: `self-signed development certificate made by jabberx (${source.certificate}); clients do not trust it: ${what}` });
    return report;
  }
  const certPem = await readOrFinding(source.certificate, 'certificate', findings);
  const keyPem = await readOrFinding(source.key, 'key', findings);
  if (certPem === undefined) return report;
  let chain: X509Certificate[];
  try {
    chain = parseChain(certPem);
  } catch {
    chain = [];
  }
  const leaf = chain[0];
  if (!leaf) {
    findings.push({ severity: 'error', kind: 'file', message: `${source.certificate} holds no PEM certificate` });
    return report;
  }
  report.expiresAt = new Date(leaf.validTo);
  report.names = certificateNames(leaf);
  if (keyPem !== undefined) {
    let key;
    try {
      key = createPrivateKey(keyPem);
    } catch {
      findings.push({ severity: 'error', kind: 'key', message: `${source.key} holds no unencrypted PEM private key` });
    }
    if (key && !leaf.checkPrivateKey(key)) findings.push({ severity: 'error', kind: 'key', message: `${source.key} is not the private key of ${source.certificate}` });
  }
  const left = report.expiresAt.getTime() - now;
  if (left <= 0) findings.push({ severity: 'error', kind: 'expiry', message: `expired on ${day(report.expiresAt)}` });
  else if (left < EXPIRY_WARNING_MS) findings.push({ severity: 'warning', kind: 'expiry', message: `expires on ${day(report.expiresAt)}, in ${Math.ceil(left / DAY_MS)} day(s)` });
  const validFrom = new Date(leaf.validFrom);
  if (validFrom.getTime() > now) findings.push({ severity: 'error', kind: 'expiry', message: `not valid before ${validFrom.toISOString()}` });
  if (!namesHost(leaf, host)) findings.push({ severity: 'error', kind: 'name', message: `it is for ${report.names}, not ${host}` });
  for (const name of opts.extraNames ?? []) {
    if (!namesHost(leaf, name)) findings.push({ severity: 'warning', kind: 'service-domain', message: `it does not cover the service domain ${name} (needed once it federates)` });
  }
  const chainIssue = chainProblem(chain, opts.trusted ?? trustedCertificates(), now);
  if (chainIssue) findings.push({ severity: 'error', kind: 'chain', message: `the chain does not verify: ${chainIssue}` });
  return report;
}

/** Service domains (e.g. conference.example.org) grouped under the host they belong to. */
export function serviceDomainsByHost(hosts: Iterable<string>, serviceDomains: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const host of hosts) out.set(host, serviceDomains.filter((d) => d.endsWith(`.${host}`)));
  return out;
}

/** Every host's report, in host order. */
export async function checkCertificates(config: ServerConfig, opts: { serviceDomains?: readonly string[]; now?: number } = {}): Promise<HostCertificateReport[]> {
  const extra = serviceDomainsByHost(config.hosts.keys(), opts.serviceDomains ?? []);
  const out: HostCertificateReport[] = [];
  for (const host of config.hosts.keys()) {
    out.push(await checkHostCertificate(config, host, { extraNames: extra.get(host) ?? [], ...(opts.now === undefined ? {} : { now: opts.now }) }));
  }
  return out;
}
