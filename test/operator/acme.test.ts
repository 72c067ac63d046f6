// Built-in ACME (RFC 8555, HTTP-01) against Debian's pebble (issue 13): a server with no
// certificate gets one issued at start, validated by pebble fetching the challenge from the
// server's http listener; a reload that moves renew_before past the certificate's remaining life
// renews it, and new connections get the renewed one; a restart with a valid one issues nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { parse, stringify } from 'yaml';
import { pebbleInstalled, startPebble, type Pebble } from '../harness/pebble.ts';
import { freePort } from '../harness/net.ts';
import { startServer, type TestServer } from '../harness/server.ts';
import { until } from '../harness/eventually.ts';

/**
 * The certificate a new direct-TLS connection is served. Pebble's roots are made anew at each
 * run and trusted by nobody, so this reads the certificate without verifying it, and checks names itself.
 */
function served(port: number): Promise<{ fingerprint: string; issuer: string; san: string | undefined }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({ fingerprint: c.fingerprint256, issuer: String(c.issuer.CN ?? ''), san: c.subjectaltname });
      s.destroy();
    });
    s.once('error', reject);
  });
}

const issuedCount = (server: TestServer) => server.logs().split('ACME: certificate issued').length - 1;

describe('ACME against pebble', { skip: pebbleInstalled() ? false : 'pebble is not installed (apt-get install pebble)' }, () => {
  let pebble: Pebble;
  let server: TestServer;
  let serverConfig: Record<string, unknown>;
  let pebbleDir: string;
  before(async () => {
    const httpPort = await freePort();
    pebbleDir = mkdtempSync(join(tmpdir(), 'jabberx-pebble-'));
    pebble = await startPebble(pebbleDir, { httpPort, validityDays: 20 });
    serverConfig = {
      hosts: { localhost: { certificate: null, key: null } },
      listeners: [
        { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
        { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
        { type: 'http', port: httpPort, address: '127.0.0.1' },
      ],
      tls: { watch: false },
      acme: { enabled: true, agree_tos: true, directory: pebble.directory, email: 'ops@example.org', renew_before: '7d' },
    };
    server = await startServer({ config: serverConfig });
  });
  after(async () => {
    await server?.remove();
    await pebble?.stop();
    rmSync(pebbleDir, { recursive: true, force: true });
  });

  it('issues a certificate at start over real HTTP-01 validation and serves it; keys are 0600', async () => {
    await until('a pebble-issued certificate to be served', async () => (await served(server.ports.c2s_direct_tls)).issuer.startsWith('Pebble'));
    const now = await served(server.ports.c2s_direct_tls);
    assert.equal(now.san, 'DNS:localhost');
    const file = join(server.dataDir, 'certs', 'localhost', 'fullchain.pem');
    assert.equal(new X509Certificate(readFileSync(file)).fingerprint256, now.fingerprint);
    const days = (Date.parse(new X509Certificate(readFileSync(file)).validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 19 && days <= 20.1, `valid ${days} days`);
    assert.equal(statSync(join(server.dataDir, 'certs', 'localhost', 'privkey.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(server.dataDir, 'acme', 'account.key')).mode & 0o777, 0o600);
    assert.equal(issuedCount(server), 1);
  });

  it('renews when the certificate is within renew_before of its end (after a reload moved it)', async () => {
    const before = await served(server.ports.c2s_direct_tls);
    const cfg = parse(readFileSync(server.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    writeFileSync(server.configPath, stringify({ ...cfg, acme: { ...cfg['acme'], renew_before: '25d' } }));
    const r = await server.cli(['reload']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^applied: acme\.renew_before$/m);
    // Polled at 4 connections a second: under the default connection_rate_per_address (10/s), which
    // would close direct-TLS connections that never log in.
    await until('the renewed certificate to be served', async () => (await served(server.ports.c2s_direct_tls)).fingerprint !== before.fingerprint, 20_000, 250);
    const after = await served(server.ports.c2s_direct_tls);
    assert.match(after.issuer, /^Pebble/);
    assert.equal(after.san, 'DNS:localhost');
    assert.equal(issuedCount(server), 2);
  });

  it('keeps a valid certificate across a restart: no new order', async () => {
    const before = await served(server.ports.c2s_direct_tls);
    await server.stop();
    server = await startServer({ root: server.root, config: serverConfig }); // renew_before 7d again
    await new Promise((r) => setTimeout(r, 1000)); // the start-up check has run by now
    assert.equal((await served(server.ports.c2s_direct_tls)).fingerprint, before.fingerprint);
    assert.doesNotMatch(readFileSync(server.logFile, 'utf8').split('JabberX started').pop() ?? '', /ACME: certificate issued/);
  });
});
