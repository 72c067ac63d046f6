// Test certificates: each test server's hosts get a certificate from the test CA in
// test/fixtures/tls/, which the test processes trust the way a user's system trusts a public CA
// (NODE_EXTRA_CA_CERTS for Node clients, SSL_CERT_FILE for Python's), so stock clients verify the
// server as they would in production: no client is told to skip certificate checks.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { makeCertificate } from '../../src/transports/certificates.ts';
import { REPO_ROOT } from './paths.ts';

// ca.pem's subject is encoded as a PrintableString, as selfsigned writes the issuer of what it
// signs: Go (go-sendxmpp) finds a certificate's issuer by comparing the DER names byte for byte.
export const TEST_CA_FILE = join(REPO_ROOT, 'test', 'fixtures', 'tls', 'ca.pem');
export const TEST_CA_KEY_FILE = join(REPO_ROOT, 'test', 'fixtures', 'tls', 'ca-key.pem');

/**
 * Writes a certificate and key for `host` into `dir`, signed by the test CA, naming the host and
 * 127.0.0.1 (clients that connect to an address check it against the IP SAN).
 */
export async function issueTestCertificate(host: string, dir: string): Promise<{ certificate: string; key: string }> {
  const ascii = domainToASCII(host) || host;
  const pems = await makeCertificate(host, {
    validDays: 7,
    ca: { key: readFileSync(TEST_CA_KEY_FILE, 'utf8'), cert: readFileSync(TEST_CA_FILE, 'utf8') },
    extraAltNames: [...(isIP(ascii) ? [] : [{ type: 2 as const, value: `*.${ascii}` }]), { type: 7 as const, ip: '127.0.0.1' }],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certificate = join(dir, `${ascii}.pem`);
  const key = join(dir, `${ascii}.key`);
  writeFileSync(certificate, pems.cert);
  writeFileSync(key, pems.key, { mode: 0o600 });
  return { certificate, key };
}
