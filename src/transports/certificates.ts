// Server certificates for TLS (RFC 6120 §13.7.1.2, RFC 6125 DNS-ID): configured PEM files, or a
// self-signed certificate per host made once under data_dir/certs/ so a fresh install serves TLS at once.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { domainToASCII } from 'node:url';
import { generate } from 'selfsigned';
import { ConfigError } from '../core/errors.ts';
import type { ServerConfig } from '../core/config.ts';

/**
 * Where a host's certificate comes from, in this order: the host's own files, the shared tls.*
 * files, the managed folder data_dir/certs/<host>/ (`jabberx cert import`, ACME), else the
 * self-signed one jabberx makes under data_dir/certs/.
 */
export type CertificateSource =
  | { kind: 'configured'; certificate: string; key: string; /** The option prefix: hosts.<host> or tls. */ scope: string }
  | { kind: 'managed'; certificate: string; key: string }
  | { kind: 'self-signed'; certificate: string; key: string };

/** A host's folder or file name: ASCII whatever the host's script. */
export function hostFileName(host: string): string {
  return domainToASCII(host) || host;
}

/** The managed folder of a host: fullchain.pem and privkey.pem, as Let's Encrypt names them. */
export function managedCertificatePaths(dataDir: string, host: string): { certificate: string; key: string } {
  const dir = join(dataDir, 'certs', hostFileName(host));
  return { certificate: join(dir, 'fullchain.pem'), key: join(dir, 'privkey.pem') };
}

export function selfSignedPaths(dataDir: string, host: string): { certificate: string; key: string } {
  const dir = join(dataDir, 'certs');
  return { certificate: join(dir, `${hostFileName(host)}.crt`), key: join(dir, `${hostFileName(host)}.key`) };
}

export function certificateSource(config: ServerConfig, host: string): CertificateSource {
  const h = config.hosts.get(host);
  if (h?.certificate && h.key) return { kind: 'configured', certificate: h.certificate, key: h.key, scope: `hosts.${host}` };
  if (config.tls.certificate && config.tls.key) return { kind: 'configured', certificate: config.tls.certificate, key: config.tls.key, scope: 'tls' };
  const managed = managedCertificatePaths(config.data_dir, host);
  if (existsSync(managed.certificate) || existsSync(managed.key)) return { kind: 'managed', ...managed };
  return { kind: 'self-signed', ...selfSignedPaths(config.data_dir, host) };
}

export interface HostCertificate {
  /** PEM, possibly a chain (leaf first). */
  cert: string;
  /** PEM private key. */
  key: string;
  selfSigned: boolean;
  /** End of validity of the leaf, so the caller can warn before it lapses. */
  expiresAt: Date;
  /** Whether the leaf names the host (a configured certificate may not; the caller may warn). */
  matchesHost: boolean;
}

const DAY_MS = 86_400_000;
/** A stored self-signed certificate this close to its end is replaced at start. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

/** Option names for errors about a pair: `hosts.<host>.certificate`, `tls.key`, … */
interface PairLabels {
  certificate: string;
  key: string;
}

function labelsOf(source: CertificateSource): PairLabels {
  return source.kind === 'configured' ? { certificate: `${source.scope}.certificate`, key: `${source.scope}.key` } : { certificate: 'certificate', key: 'key' };
}

/** Why a file can't be read, in words. */
export function unreadable(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a folder, not a file' : String(e);
}

/** The names a certificate is for (its DNS and IP SANs, else its CN), for messages. */
export function certificateNames(x509: X509Certificate): string {
  const san = x509.subjectAltName?.split(', ').map((n) => n.replace(/^(DNS|IP Address):/, '')).join(', ');
  return san || /CN=([^\n]*)/.exec(x509.subject)?.[1] || 'no name';
}

/**
 * Reads and checks a certificate/key pair that is served as it is (configured, imported or from
 * ACME): readable, PEM, the key matching, valid now and naming the host. Errors name the host and option.
 */
async function readPair(certPath: string, keyPath: string, host: string, labels: PairLabels, now = Date.now()): Promise<HostCertificate> {
  const read = async (path: string, opt: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new ConfigError(opt, `cannot read ${path}: ${unreadable(e)}`, { host });
    }
  };
  const cert = await read(certPath, labels.certificate);
  const key = await read(keyPath, labels.key);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(labels.certificate, `${certPath} holds no PEM certificate`, { host });
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch {
    throw new ConfigError(labels.key, `${keyPath} holds no unencrypted PEM private key`, { host });
  }
  if (!x509.checkPrivateKey(keyObject)) {
    throw new ConfigError(labels.key, `${keyPath} is not the private key of ${certPath}`, { host });
  }
  const expiresAt = new Date(x509.validTo);
  if (expiresAt.getTime() <= now) throw new ConfigError(labels.certificate, `${certPath} expired on ${expiresAt.toISOString()}`, { host });
  const validFrom = new Date(x509.validFrom);
  if (validFrom.getTime() > now) throw new ConfigError(labels.certificate, `${certPath} is not valid before ${validFrom.toISOString()}`, { host });
  if (!namesHost(x509, host)) throw new ConfigError(labels.certificate, `${certPath} is for ${certificateNames(x509)}, not ${host}`, { host });
  return { cert, key, selfSigned: false, expiresAt, matchesHost: true };
}

/** Whether the certificate covers `name` (a DNS-ID, wildcards included, or an IP address). */
export function namesHost(x509: X509Certificate, host: string): boolean {
  const ascii = domainToASCII(host) || host;
  return isIP(ascii) ? x509.checkIP(ascii) !== undefined : x509.checkHost(ascii) !== undefined;
}

/** The stored self-signed pair, if it is intact, still valid for a while and for this host. */
async function loadStored(certPath: string, keyPath: string, host: string): Promise<HostCertificate | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('tls.certificate', `cannot read the self-signed certificate ${certPath}: ${String(e)}`, { host });
  }
  try {
    const x509 = new X509Certificate(cert);
    const expiresAt = new Date(x509.validTo);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined;
    if (expiresAt.getTime() - Date.now() < RENEW_BEFORE_MS || !namesHost(x509, host)) return undefined;
    return { cert, key, selfSigned: true, expiresAt, matchesHost: true };
  } catch {
    return undefined; // damaged files are replaced
  }
}

/**
 * ECDSA P-256 (fast to make, small handshakes), SAN = the host (plus `extraAltNames`), valid one
 * year unless told otherwise; self-signed, or signed by `ca` (the tests' own CA).
 */
export async function makeCertificate(
  host: string,
  opts: { validDays?: number; ca?: { key: string; cert: string }; extraAltNames?: ({ type: 2; value: string } | { type: 7; ip: string })[] } = {},
): Promise<{ cert: string; key: string }> {
  const ascii = domainToASCII(host) || host;
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: ascii }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 5 * 60_000), // tolerate small clock skew on clients
    notAfterDate: new Date(now + (opts.validDays ?? 365) * DAY_MS),
    ...(opts.ca ? { ca: opts.ca } : {}),
    // RFC 6125 DNS-ID only: selfsigned cannot write the XmppAddr otherName; clients match DNS-IDs.
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [isIP(ascii) ? { type: 7, ip: ascii } : { type: 2, value: ascii }, ...(opts.extraAltNames ?? [])] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Writes via a temporary file and rename, so a crash never leaves half a key; the key is 0600. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode); // writeFile's mode is filtered by the umask
  await rename(tmp, path);
}

async function selfSignedFor(dataDir: string, host: string): Promise<HostCertificate> {
  const { certificate: certPath, key: keyPath } = selfSignedPaths(dataDir, host);
  const stored = await loadStored(certPath, keyPath, host);
  if (stored) return stored;
  const { cert, key } = await makeCertificate(host);
  await mkdir(dirname(certPath), { recursive: true, mode: 0o700 });
  await writeAtomic(keyPath, key, 0o600);
  await writeAtomic(certPath, cert, 0o644);
  return { cert, key, selfSigned: true, expiresAt: new Date(new X509Certificate(cert).validTo), matchesHost: true };
}

/**
 * One host's certificate, from its source (certificateSource). A managed certificate that can't be
 * served (expired, say) is an error, unless ACME is on: then the self-signed one serves until ACME
 * replaces it.
 */
export async function loadHostCertificate(config: ServerConfig, host: string): Promise<HostCertificate> {
  const source = certificateSource(config, host);
  if (source.kind === 'self-signed') return selfSignedFor(config.data_dir, host);
  try {
    return await readPair(source.certificate, source.key, host, labelsOf(source));
  } catch (e) {
    if (source.kind === 'managed' && config.acme.enabled && e instanceof ConfigError) return selfSignedFor(config.data_dir, host);
    throw e;
  }
}

/** The certificate for each host, in host order (see certificateSource). */
export async function ensureCertificates(config: ServerConfig): Promise<Map<string, HostCertificate>> {
  const out = new Map<string, HostCertificate>();
  for (const name of config.hosts.keys()) out.set(name, await loadHostCertificate(config, name));
  return out;
}

/**
 * Reads and checks every certificate/key pair that would be served as it is, without making any
 * (check-config, and `start` before it touches the store): every problem found, none when all
 * can be served. Expired certificates and certificates for another name are problems too.
 */
export async function checkConfiguredCertificates(config: ServerConfig): Promise<ConfigError[]> {
  const problems = new Map<string, ConfigError>();
  for (const name of config.hosts.keys()) {
    const source = certificateSource(config, name);
    // Self-signed ones are made at start; ACME replaces managed ones it can't serve.
    if (source.kind === 'self-signed' || (source.kind === 'managed' && config.acme.enabled)) continue;
    try {
      await readPair(source.certificate, source.key, name, labelsOf(source));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // tls.* is shared by every host without its own: report a broken file once.
      const shared = source.kind === 'configured' && source.scope === 'tls' && !e.message.includes(`, not ${name}`);
      problems.set(shared ? e.message.replace(/ \(host [^)]*\)/, '') : e.message, e);
    }
  }
  return [...problems.values()];
}
