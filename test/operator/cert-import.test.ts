// `jabberx cert import DIR` (issue 13) with a certbot-style folder made by openssl: each host gets
// its live/<domain> certificate (or one whose wildcard covers it) copied where the configuration
// reads it, keys 0600; expired or absent ones are skipped; a running server serves the new one at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { jabberx } from '../harness/cli.ts';
import { opensslCertificate, type OpensslCertOptions } from '../harness/openssl-certs.ts';
import { startServer } from '../harness/server.ts';
import { TEST_CA_FILE } from '../harness/test-ca.ts';
import { servedFingerprint } from '../harness/net.ts';

/** Writes DIR/live/<domain>/fullchain.pem (leaf + the test CA, as certbot's chain) and privkey.pem. */
function liveFolder(dir: string, domain: string, opts: OpensslCertOptions): string {
  const pair = opensslCertificate(join(dir, 'work'), domain, opts);
  const live = join(dir, 'live', domain);
  mkdirSync(live, { recursive: true });
  writeFileSync(join(live, 'fullchain.pem'), readFileSync(pair.certificate, 'utf8') + readFileSync(TEST_CA_FILE, 'utf8'));
  copyFileSync(pair.key, join(live, 'privkey.pem'));
  return new X509Certificate(readFileSync(pair.certificate)).fingerprint256;
}

describe('cert import', () => {
  let root: string;
  let letsencrypt: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-cert-import-'));
    letsencrypt = join(root, 'letsencrypt');
    liveFolder(letsencrypt, 'localhost', { names: ['localhost'] });
    liveFolder(letsencrypt, 'example.org', { names: ['example.org', '*.example.org'] });
    liveFolder(letsencrypt, 'old.example', { names: ['old.example'], notBefore: -90, notAfter: -1 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('copies each host\'s certificate where the configuration reads it, keys 0600, and skips what it can\'t serve', async () => {
    const dir = join(root, 'stopped');
    mkdirSync(dir);
    const own = join(dir, 'own');
    const config = join(dir, 'jabberx.yml');
    writeFileSync(config, stringify({
      log: { level: 'silent' },
      hosts: {
        localhost: {},
        'chat.example.org': { certificate: join(own, 'chat.pem'), key: join(own, 'chat.key') },
        'old.example': {},
        'none.example': {},
      },
    }));
    const r = await jabberx(['cert', 'import', letsencrypt, '--config', config]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const data = join(dir, 'data');
    assert.equal(r.stdout, [
      `localhost: imported from ${join(letsencrypt, 'live', 'localhost')} to ${join(data, 'certs', 'localhost', 'fullchain.pem')}`,
      `chat.example.org: imported from ${join(letsencrypt, 'live', 'example.org')} to ${join(own, 'chat.pem')}`,
      `old.example: skipped: live/old.example: its certificate expired on ${r.stdout.match(/expired on (\S+)/)?.[1] ?? '?'}`,
      'none.example: skipped: no live/<domain> folder holds a usable certificate for none.example',
      '',
    ].join('\n'));
    assert.equal(statSync(join(data, 'certs', 'localhost', 'privkey.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(own, 'chat.key')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(own, 'chat.pem'), 'utf8'), readFileSync(join(letsencrypt, 'live', 'example.org', 'fullchain.pem'), 'utf8'));
    const check = await jabberx(['check', 'certs', '--config', config]);
    assert.match(check.stdout, /^localhost: OK: .*certs\/localhost\/fullchain\.pem \(imported or from ACME\)/m);
    assert.match(check.stdout, /^chat\.example\.org: OK: /m);
    const again = await jabberx(['cert', 'import', letsencrypt, '--config', config]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^localhost: unchanged from /m);
  });

  it('has a running server serve the imported certificate at once, sessions kept', async (t) => {
    // The server starts on an imported certificate (data_dir/certs/localhost/), as after a first import.
    const serverRoot = mkdtempSync(join(tmpdir(), 'jabberx-cert-import-server-'));
    const managed = join(serverRoot, 'data', 'certs', 'localhost');
    mkdirSync(managed, { recursive: true });
    copyFileSync(join(letsencrypt, 'live', 'localhost', 'fullchain.pem'), join(managed, 'fullchain.pem'));
    copyFileSync(join(letsencrypt, 'live', 'localhost', 'privkey.pem'), join(managed, 'privkey.pem'));
    const server = await startServer({ root: serverRoot, users: [['alice@localhost', 'pw-alice']], config: { hosts: { localhost: { certificate: null, key: null } }, tls: { watch: false } } });
    t.after(() => server.remove());
    const open = await server.connectClient(t, 'alice');
    const renewed = liveFolder(letsencrypt, 'localhost', { names: ['localhost'] });
    assert.notEqual(await servedFingerprint(server.ports.c2s_direct_tls), renewed);
    const r = await server.cli(['cert', 'import', letsencrypt]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^localhost: imported from /m);
    assert.match(r.stdout, /^the running server reloaded:\n {2}certificate of localhost: replaced$/m);
    assert.equal(await servedFingerprint(server.ports.c2s_direct_tls), renewed);
    assert.ok(existsSync(join(server.dataDir, 'certs', 'localhost', 'fullchain.pem')));
    await open.ping();
  });

  it('refuses a folder not in Let\'s Encrypt\'s layout (exit 1) and a missing DIR (exit 64)', async () => {
    const r = await jabberx(['cert', 'import', root, '--config', join(root, 'stopped', 'jabberx.yml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^jabberx: .*\/live is not a folder: expected Let's Encrypt's layout DIR\/live\/<domain>\/fullchain\.pem and privkey\.pem/);
    const u = await jabberx(['cert', 'import']);
    assert.equal(u.code, 64);
    assert.match(u.stderr, /^jabberx: usage: jabberx cert import DIR/);
  });
});
