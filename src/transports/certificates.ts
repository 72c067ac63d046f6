// Server certificates for TLS (RFC 6120 §13.7.1.2, RFC 6125 DNS-ID): configured PEM files, or a
// self-signed certificate per host made once under data_dir/certs/ so a fresh install serves TLS at once.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import { generate } from 'selfsigned';
import { ConfigError } from '../core/errors.ts';
import type { ServerConfig } from '../core/config.ts';

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

/** Reads and checks a configured certificate/key pair; errors name the host and option. */
async function readPair(certPath: string, keyPath: string, host: string, scope: string): Promise<HostCertificate> {
  const read = async (path: string, opt: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a folder, not a file' : String(e);
      throw new ConfigError(`${scope}.${opt}`, `cannot read ${path}: ${why}`, { host });
    }
  };
  const cert = await read(certPath, 'certificate');
  const key = await read(keyPath, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`${scope}.certificate`, `${certPath} holds no PEM certificate`, { host });
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch {
    throw new ConfigError(`${scope}.key`, `${keyPath} holds no unencrypted PEM private key`, { host });
  }
  if (!x509.checkPrivateKey(keyObject)) {
    throw new ConfigError(`${scope}.key`, `${keyPath} is not the private key of ${certPath}`, { host });
  }
  return { cert, key, selfSigned: false, expiresAt: new Date(x509.validTo), matchesHost: namesHost(x509, host) };
}

function namesHost(x509: X509Certificate, host: string): boolean {
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
  const dir = join(dataDir, 'certs');
  const file = domainToASCII(host) || host; // ASCII file names whatever the host's script
  const certPath = join(dir, `${file}.crt`);
  const keyPath = join(dir, `${file}.key`);
  const stored = await loadStored(certPath, keyPath, host);
  if (stored) return stored;
  const { cert, key } = await makeCertificate(host);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(keyPath, key, 0o600);
  await writeAtomic(certPath, cert, 0o644);
  return { cert, key, selfSigned: true, expiresAt: new Date(new X509Certificate(cert).validTo), matchesHost: true };
}

/**
 * The certificate for each host, in host order: the host's own files, else tls.certificate/key,
 * else a self-signed one made once and reused (replaced when it nears expiry).
 */
export async function ensureCertificates(config: ServerConfig): Promise<Map<string, HostCertificate>> {
  const out = new Map<string, HostCertificate>();
  const { certificate: globalCert, key: globalKey } = config.tls;
  for (const [name, host] of config.hosts) {
    if (host.certificate && host.key) {
      out.set(name, await readPair(host.certificate, host.key, name, `hosts.${name}`));
    } else if (globalCert && globalKey) {
      out.set(name, await readPair(globalCert, globalKey, name, 'tls'));
    } else {
      out.set(name, await selfSignedFor(config.data_dir, name));
    }
  }
  return out;
}

/**
 * Reads and checks every configured certificate/key pair without making any (check-config, and
 * `start` before it touches the store): every problem found, none when all can be served.
 */
export async function checkConfiguredCertificates(config: ServerConfig): Promise<ConfigError[]> {
  const problems = new Map<string, ConfigError>();
  const { certificate: globalCert, key: globalKey } = config.tls;
  for (const [name, host] of config.hosts) {
    const pair = host.certificate && host.key
      ? { cert: host.certificate, key: host.key, scope: `hosts.${name}` }
      : globalCert && globalKey ? { cert: globalCert, key: globalKey, scope: 'tls' } : undefined;
    if (!pair) continue; // self-signed, made at start
    try {
      await readPair(pair.cert, pair.key, name, pair.scope);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // tls.* is shared by every host without its own: report a broken file once.
      problems.set(pair.scope === 'tls' ? e.message.replace(/ \(host [^)]*\)/, '') : e.message, e);
    }
  }
  return [...problems.values()];
}
