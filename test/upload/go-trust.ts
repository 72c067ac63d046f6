// The trust bundle go-sendxmpp (Go's crypto/x509) gets through SSL_CERT_FILE. Go finds a
// certificate's issuer by the exact bytes of its name; the test certificates name the test CA as
// a PrintableString, while ca.pem spells its own name as a UTF8String (OpenSSL and Python compare
// names canonically and don't mind). So the bundle holds ca.pem and the same CA (same key, same
// name) re-issued with the name encoded as the leaves have it. Environment only: go-sendxmpp is
// run unchanged.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_CA_FILE, TEST_CA_KEY_FILE } from '../harness/test-ca.ts';

export function goTrustBundle(): string {
  const dir = mkdtempSync(join(tmpdir(), 'go-trust-'));
  const cnf = join(dir, 'ca.cnf');
  writeFileSync(cnf, [
    '[req]', 'distinguished_name = dn', 'string_mask = default', 'x509_extensions = ca', 'prompt = no',
    '[dn]', 'CN = JabberX test CA (tests only)',
    '[ca]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash',
  ].join('\n'));
  const printable = execFileSync('openssl', ['req', '-x509', '-new', '-key', TEST_CA_KEY_FILE, '-config', cnf, '-days', '30'], { encoding: 'utf8' });
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, readFileSync(TEST_CA_FILE, 'utf8') + '\n' + printable);
  return bundle;
}
