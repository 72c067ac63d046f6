// `jabberx check-config` finds what `start` would trip over (issue 13): missing, unreadable and
// non-PEM certificates, an unset key variable; and neither it nor a refused start writes a key file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { jabberx } from '../harness/cli.ts';
import { issueTestCertificate } from '../harness/test-ca.ts';

describe('check-config', () => {
  let root: string;
  let good: { certificate: string; key: string };
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-check-'));
    good = await issueTestCertificate('localhost', join(root, 'certs'));
    mkdirSync(join(root, 'a-folder'));
    writeFileSync(join(root, 'not-pem.crt'), 'this is not a certificate\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A config in its own folder (so each case has its own key file path), listening nowhere in use. */
  function configWith(name: string, extra: Record<string, unknown>): { path: string; dir: string } {
    const dir = join(root, name);
    mkdirSync(dir);
    const path = join(dir, 'jabberx.yml');
    writeFileSync(path, stringify({ listeners: [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }], log: { level: 'silent' }, ...extra }));
    return { path, dir };
  }

  const cases: Array<[string, () => Record<string, unknown>, RegExp]> = [
    ['a missing certificate', () => ({ tls: { certificate: join(root, 'nope.crt'), key: good.key } }), /config: tls\.certificate( \(host localhost\))?: cannot read .*nope\.crt: no such file/],
    ['an unreadable certificate', () => ({ tls: { certificate: join(root, 'a-folder'), key: good.key } }), /config: tls\.certificate( \(host localhost\))?: cannot read .*a-folder: a folder, not a file/],
    ['a non-PEM certificate', () => ({ hosts: { localhost: { certificate: join(root, 'not-pem.crt'), key: good.key } } }), /config: hosts\.localhost\.certificate \(host localhost\): .*not-pem\.crt holds no PEM certificate/],
    ['an unset key variable', () => ({ storage: { key_provider: 'env', key_env: 'JABBERX_TEST_UNSET_KEY' } }), /the environment variable JABBERX_TEST_UNSET_KEY that should hold the master key is not set/],
  ];
  for (const [name, extra, message] of cases) {
    it(`refuses ${name} (exit 78) and writes no key file; start refuses it too`, async () => {
      const { path, dir } = configWith(name.replace(/ /g, '-'), extra());
      const env = { ...process.env };
      delete env['JABBERX_TEST_UNSET_KEY'];
      const r = await jabberx(['check-config', '--config', path], { env });
      assert.equal(r.code, 78, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stdout, /OK/);
      assert.equal(existsSync(join(dir, 'jabberx.key')), false, 'check-config wrote a key file');
      const s = await jabberx(['start', '--config', path, '--allow-root'], { env });
      assert.equal(s.code, 78, s.stdout + s.stderr);
      assert.match(s.stderr, message);
      assert.equal(existsSync(join(dir, 'jabberx.key')), false, 'a refused start wrote a key file');
      assert.equal(existsSync(join(dir, 'data', 'jabberx.sqlite')), false, 'a refused start made a database');
    });
  }

  it('reports every problem at once', async () => {
    const { path } = configWith('several', { tls: { certificate: join(root, 'nope.crt'), key: good.key }, storage: { key_provider: 'env', key_env: 'JABBERX_TEST_UNSET_KEY' } });
    const r = await jabberx(['check-config', '--config', path]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /nope\.crt/);
    assert.match(r.stderr, /JABBERX_TEST_UNSET_KEY/);
    assert.match(r.stderr, /2 problem\(s\)/);
  });

  it('says OK for a good configuration, and what the first start will make, without making it', async () => {
    const { path, dir } = configWith('good', { tls: good });
    const r = await jabberx(['check-config', '--config', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /note: no master key yet: start will make .*jabberx\.key/);
    assert.match(r.stdout, /jabberx\.yml: OK \(hosts: localhost\)/);
    assert.equal(existsSync(join(dir, 'jabberx.key')), false);
  });
});
