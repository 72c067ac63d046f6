// Chain verification and service-domain names of `check certs` (certificate-check.ts), on
// certificates from the test CA: the CA trusted, not trusted, missing from the file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../core/config.ts';
import { TEST_CA_FILE, issueTestCertificate } from '../../test/harness/test-ca.ts';
import { chainProblem, checkHostCertificate, parseChain, serviceDomainsByHost } from './certificate-check.ts';

let dir: string;
let leafPem: string;
const ca = new X509Certificate(readFileSync(TEST_CA_FILE));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jabberx-cert-check-'));
  leafPem = readFileSync((await issueTestCertificate('example.org', dir)).certificate, 'utf8');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('chainProblem', () => {
  it('accepts a leaf signed by a trusted CA, with or without the CA in the file', () => {
    assert.equal(chainProblem(parseChain(leafPem), [ca]), undefined);
    assert.equal(chainProblem(parseChain(leafPem + readFileSync(TEST_CA_FILE, 'utf8')), [ca]), undefined);
  });

  it('names a missing issuer, and a root nobody trusts', () => {
    assert.match(chainProblem(parseChain(leafPem), []) ?? '', /^the chain is incomplete: no certificate of its issuer \(CN=JabberX test CA \(tests only\)\)/);
    assert.match(chainProblem(parseChain(leafPem + readFileSync(TEST_CA_FILE, 'utf8')), []) ?? '', /^it ends at CN=JabberX test CA \(tests only\), a CA this machine does not trust$/);
  });
});

describe('service domains', () => {
  it('groups each under its host, and warns when the host\'s certificate does not cover one', async () => {
    assert.deepEqual(serviceDomainsByHost(['example.org', 'example.net'], ['conference.example.org', 'upload.example.net', 'other.test']), new Map([
      ['example.org', ['conference.example.org']],
      ['example.net', ['upload.example.net']],
    ]));
    const cert = await issueTestCertificate('example.org', dir); // names example.org and *.example.org
    const config = parseConfigText(`hosts: { example.org: { certificate: ${cert.certificate}, key: ${cert.key} } }\n`, dir, { knownModules: [], defaultModules: [] });
    // Test certificates are valid for 7 days: that warning is not what this is about.
    const names = async (extra: string) => (await checkHostCertificate(config, 'example.org', { extraNames: [extra], trusted: [ca] })).findings.filter((f) => f.kind !== 'expiry');
    assert.deepEqual(await names('conference.example.org'), []);
    assert.deepEqual(await names('a.b.example.org'), [{ severity: 'warning', kind: 'service-domain', message: 'it does not cover the service domain a.b.example.org (needed once it federates)' }]);
  });
});
