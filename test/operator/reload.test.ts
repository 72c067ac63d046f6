// Reloads on a real server process (issue 13): `jabberx reload` re-reads the certificates (c2s and
// https) and the configuration, says what it applied and what needs a restart, and keeps the
// certificate in use when the new one is expired; a connected client stays logged in throughout.
// With tls.watch, a renewal written into place is picked up without any signal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startServer, type TestServer } from '../harness/server.ts';
import { jabberx } from '../harness/cli.ts';
import { issueTestCertificate } from '../harness/test-ca.ts';
import { opensslCertificate } from '../harness/openssl-certs.ts';
import { until } from '../harness/eventually.ts';
import { servedFingerprint } from '../harness/net.ts';

const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

function portOf(server: TestServer, type: string): number {
  const port = (server.ports as unknown as Record<string, number>)[type];
  assert.ok(port, `no ${type} port`);
  return port;
}

describe('jabberx reload', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      users: [['alice@localhost', 'pw-alice']],
      config: {
        tls: { watch: false },
        listeners: [
          { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
          { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
          { type: 'https', port: 0, address: '127.0.0.1' },
        ],
      },
    });
  });
  after(() => server.remove());

  it('serves a new certificate to new c2s and https connections, keeps open sessions, and names what needs a restart', async (t) => {
    const open = await server.connectClient(t, 'alice', { resource: 'before' });
    const direct = portOf(server, 'c2s_direct_tls');
    const https = portOf(server, 'https');
    const old = await servedFingerprint(direct);
    assert.equal(await servedFingerprint(https), old);
    const { certificate } = await issueTestCertificate('localhost', join(server.root, 'certs'));
    const renewed = fingerprintOf(certificate);
    assert.notEqual(renewed, old);
    const cfg = parse(readFileSync(server.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    writeFileSync(server.configPath, stringify({ ...cfg, limits: { idle_timeout: '20m' }, policy: { contact: 'ops@example.org' } }));

    const r = await server.cli(['reload']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The XEP-0157 addresses derived from the contact are in the disco answer modules build at start.
    assert.equal(r.stdout, 'certificate of localhost: replaced\napplied: policy.contact\nneed a restart: limits.idle_timeout, policy.abuse_addresses, policy.admin_addresses, policy.security_addresses, policy.support_addresses\n');
    assert.equal(await servedFingerprint(direct), renewed, 'a new c2s connection gets the new certificate');
    assert.equal(await servedFingerprint(https), renewed, 'a new https connection (SNI) gets it');
    assert.equal(await servedFingerprint(https, undefined), renewed, 'a new https connection without SNI gets it');
    const fresh = await server.connectClient(t, 'alice', { resource: 'after' });
    assert.ok(fresh);
    await open.ping(); // the session from before the reload is still there
    assert.match(server.logs(), /jabberx reload: settings changed in the configuration file need a restart to take effect/);
  });

  it('refuses an expired certificate and keeps the one in use (exit 1), and says so in the log', async (t) => {
    const open = await server.connectClient(t, 'alice', { resource: 'steady' });
    const direct = portOf(server, 'c2s_direct_tls');
    const inUse = await servedFingerprint(direct);
    const expired = opensslCertificate(join(server.root, 'openssl'), 'expired', { names: ['localhost'], notBefore: -60, notAfter: -1 });
    copyFileSync(expired.certificate, join(server.root, 'certs', 'localhost.pem'));
    copyFileSync(expired.key, join(server.root, 'certs', 'localhost.key'));
    const r = await server.cli(['reload']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^certificate of localhost: refused, the one in use stays: config: hosts\.localhost\.certificate \(host localhost\): .*localhost\.pem expired on \d{4}-/m);
    assert.equal(await servedFingerprint(direct), inUse);
    assert.match(server.logs(), /new certificate refused; the one in use stays/);
    await open.ping();
  });

  it('keeps the running settings when the file no longer loads: the CLI says why (exit 78), SIGHUP logs it', async (t) => {
    const open = await server.connectClient(t, 'alice', { resource: 'broken-file' });
    await issueTestCertificate('localhost', join(server.root, 'certs'));
    const good = readFileSync(server.configPath, 'utf8');
    writeFileSync(server.configPath, `${good}\nidle_timeot: 5m\n`);
    try {
      const r = await server.cli(['reload']);
      assert.equal(r.code, 78, r.stdout + r.stderr);
      assert.match(r.stderr, /^jabberx: config: idle_timeot \(line \d+\): unknown option/);
      server.process.kill('SIGHUP');
      await until('the SIGHUP log line', () => server.logs().includes('SIGHUP: the configuration file no longer loads; the running settings stay'));
      assert.match(server.logs(), /"certificates":\{"localhost":"replaced"\},"msg":"SIGHUP: certificates re-read/);
      await open.ping();
    } finally {
      writeFileSync(server.configPath, good);
    }
  });

  it('says when no server runs (exit 69)', async () => {
    const r = await jabberx(['reload', '--config', join(server.root, 'nowhere.yml')]);
    assert.equal(r.code, 78, 'a missing file is a configuration error');
    const stopped = await startServer({});
    await stopped.stop();
    const s = await stopped.cli(['reload']);
    await stopped.remove();
    assert.equal(s.code, 69, s.stdout + s.stderr);
    assert.match(s.stderr, /^jabberx: no server is running on .*\(reload acts on a running server/);
  });
});

describe('tls.watch', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [['alice@localhost', 'pw-alice']] });
  });
  after(() => server.remove());

  it('picks up a certificate renewed in place, without a signal or reload, and keeps sessions', async (t) => {
    const open = await server.connectClient(t, 'alice');
    const direct = server.ports.c2s_direct_tls;
    const { certificate } = await issueTestCertificate('localhost', join(server.root, 'certs'));
    const renewed = fingerprintOf(certificate);
    await until('the renewed certificate to be served', async () => (await servedFingerprint(direct)) === renewed);
    assert.match(server.logs(), /certificate files changed: certificates re-read/);
    await open.ping();
  });
});
