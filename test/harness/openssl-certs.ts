// Certificates made by the real openssl command, the way an operator's CA or certbot makes them:
// signed by the test CA (test/fixtures/tls/) with any validity window and names, or self-signed.
// The tests that check certificates use these, so node:crypto is checked against OpenSSL's output.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_CA_FILE, TEST_CA_KEY_FILE } from './test-ca.ts';

export interface OpensslPair {
  certificate: string;
  key: string;
}

export interface OpensslCertOptions {
  /** DNS names (wildcards allowed) in the SAN; the first is the CN. */
  names: string[];
  /** Validity as openssl ca dates (YYYYMMDDHHMMSSZ) or as days from now (negative: in the past). */
  notBefore?: string | number;
  notAfter?: string | number;
  /** Self-signed instead of signed by the test CA. */
  selfSigned?: boolean;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `days` from now as an openssl ca date. */
function caDate(when: string | number): string {
  if (typeof when === 'string') return when;
  return new Date(Date.now() + when * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

/** Writes `<name>.pem` (certificate) and `<name>.key` (a new P-256 key, mode 0600) into `dir`. */
export function opensslCertificate(dir: string, name: string, opts: OpensslCertOptions): OpensslPair {
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, `.${name}-`));
  const certificate = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  try {
    const [cn = 'localhost'] = opts.names;
    writeFileSync(join(work, 'ext.cnf'), [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${opts.names.map((n) => `DNS:${n}`).join(', ')}`,
      '',
    ].join('\n'));
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-out', 'req.csr'], work);
    // `openssl ca` takes any start and end date (x509 -req only takes a number of days).
    writeFileSync(join(work, 'ca.cnf'), [
      '[ca]', 'default_ca = test', '[test]', 'database = index.txt', 'new_certs_dir = .', 'serial = serial',
      'default_md = sha256', 'policy = any', 'unique_subject = no', '[any]', 'commonName = supplied', '',
    ].join('\n'));
    writeFileSync(join(work, 'index.txt'), '');
    writeFileSync(join(work, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
    const signer = opts.selfSigned ? ['-selfsign', '-keyfile', key] : ['-cert', TEST_CA_FILE, '-keyfile', TEST_CA_KEY_FILE];
    openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', ...signer, '-in', 'req.csr', '-out', certificate, '-extfile', 'ext.cnf',
      '-startdate', caDate(opts.notBefore ?? -1), '-enddate', caDate(opts.notAfter ?? 90)], work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { certificate, key };
}

/** A new key that belongs to no certificate (for a mismatched pair). */
export function opensslKey(dir: string, name: string): string {
  const key = join(dir, `${name}.key`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  return key;
}
