// `jabberx check certs` and check-config against certificates made by the real openssl (issue 13):
// valid, expiring, expired, for another name, with a mismatched key, self-signed, a wildcard, and
// jabberx's own development certificate; start refuses an expired one and one for another name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { jabberx } from '../harness/cli.ts';
import { opensslCertificate, opensslKey, type OpensslPair } from '../harness/openssl-certs.ts';

describe('check certs', () => {
  let root: string;
  const pairs: Record<string, OpensslPair> = {};
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-check-certs-'));
    const dir = join(root, 'certs');
    pairs['valid'] = opensslCertificate(dir, 'valid', { names: ['localhost'] });
    pairs['expiring'] = opensslCertificate(dir, 'expiring', { names: ['localhost'], notAfter: 10 });
    pairs['expired'] = opensslCertificate(dir, 'expired', { names: ['localhost'], notBefore: -90, notAfter: -1 });
    pairs['wrong-name'] = opensslCertificate(dir, 'wrong-name', { names: ['other.example'] });
    pairs['mismatched'] = { certificate: pairs['valid'].certificate, key: opensslKey(dir, 'stray') };
    pairs['self-signed'] = opensslCertificate(dir, 'self-signed', { names: ['localhost'], selfSigned: true });
    pairs['wildcard'] = opensslCertificate(dir, 'wildcard', { names: ['*.example.org'] });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A config in its own folder serving `host` with the pair (none: jabberx's self-signed one). */
  function configFor(name: string, pair: OpensslPair | undefined, host = 'localhost'): string {
    const dir = join(root, name);
    mkdirSync(dir);
    const path = join(dir, 'jabberx.yml');
    writeFileSync(path, stringify({
      listeners: [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }],
      log: { level: 'silent' },
      hosts: { [host]: pair ? { certificate: pair.certificate, key: pair.key } : {} },
    }));
    return path;
  }

  const cases: Array<{ name: string; host?: string; exit: number; line: RegExp; check: number; start?: RegExp }> = [
    { name: 'valid', exit: 0, line: /^localhost: OK: .*valid\.pem \(hosts\.localhost\.certificate\), for localhost, until \d{4}-/m, check: 0 },
    { name: 'wildcard', host: 'chat.example.org', exit: 0, line: /^chat\.example\.org: OK: .*for \*\.example\.org/m, check: 0 },
    { name: 'expiring', exit: 1, line: /^ {2}warning: expires on \d{4}-\d\d-\d\d, in 1[01] day\(s\)$/m, check: 0 },
    { name: 'expired', exit: 78, line: /^ {2}error: expired on \d{4}-\d\d-\d\d$/m, check: 78, start: /^jabberx: config: hosts\.localhost\.certificate \(host localhost\): .*expired\.pem expired on \d{4}-/ },
    { name: 'wrong-name', exit: 78, line: /^ {2}error: it is for other\.example, not localhost$/m, check: 78, start: /^jabberx: config: hosts\.localhost\.certificate \(host localhost\): .*wrong-name\.pem is for other\.example, not localhost\n$/ },
    { name: 'mismatched', exit: 78, line: /^ {2}error: .*stray\.key is not the private key of .*valid\.pem$/m, check: 78 },
    { name: 'self-signed', exit: 78, line: /^ {2}error: the chain does not verify: it is self-signed: clients will not trust it$/m, check: 78 },
  ];
  for (const c of cases) {
    it(`${c.name}: exit ${c.exit}${c.start ? ', and start refuses it in one line' : ''}`, async () => {
      const config = configFor(c.name, pairs[c.name], c.host);
      const r = await jabberx(['check', 'certs', '--config', config]);
      assert.equal(r.code, c.exit, r.stdout + r.stderr);
      assert.match(r.stdout, c.line);
      assert.match(r.stdout, /^1 host\(s\): \d error\(s\), \d warning\(s\)$/m);
      const cc = await jabberx(['check-config', '--config', config]);
      assert.equal(cc.code, c.check, cc.stdout + cc.stderr);
      if (c.exit === 1) assert.match(cc.stdout, /^warning: certificate of localhost: expires on/m);
      if (c.start) {
        const s = await jabberx(['start', '--config', config, '--allow-root']);
        assert.equal(s.code, 78, s.stdout + s.stderr);
        assert.match(s.stderr, c.start);
        assert.doesNotMatch(s.stderr, /\n\s+at /, 'no stack trace');
      }
    });
  }

  it('reports jabberx\'s own self-signed certificate as a development certificate (a warning, exit 1)', async () => {
    const config = configFor('dev-cert', undefined);
    const before = await jabberx(['check', 'certs', '--config', config]);
    assert.equal(before.code, 1, before.stdout + before.stderr);
    assert.match(before.stdout, /warning: no certificate configured: start will make a self-signed development certificate/);
  });

  it('reports every host, and a missing file as an error', async () => {
    const dir = join(root, 'several');
    mkdirSync(dir);
    const path = join(dir, 'jabberx.yml');
    writeFileSync(path, stringify({
      log: { level: 'silent' },
      hosts: {
        localhost: { certificate: pairs['valid']?.certificate, key: pairs['valid']?.key },
        'chat.example.org': { certificate: join(root, 'nope.pem'), key: pairs['valid']?.key },
      },
    }));
    const r = await jabberx(['check', 'certs', '--config', path]);
    assert.equal(r.code, 78);
    assert.match(r.stdout, /^localhost: OK/m);
    assert.match(r.stdout, /^chat\.example\.org: ERROR: .*nope\.pem/m);
    assert.match(r.stdout, /^ {2}error: certificate .*nope\.pem: cannot read: no such file$/m);
    assert.match(r.stdout, /^2 host\(s\): 1 error\(s\), 0 warning\(s\)$/m);
  });

  it('refuses anything but "certs" (exit 64)', async () => {
    const r = await jabberx(['check', 'certz']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /^jabberx: usage: jabberx check certs \[--config FILE\] \(unknown subject "certz"\)/);
  });
});
