// Tests for certificates (configured, self-signed and reused) and the TLS server settings
// (RFC 8996 version floor, RFC 6066 SNI).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type Server } from 'node:tls';
import { generate } from 'selfsigned';
import { parseConfigText, type ServerConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { ensureCertificates, type HostCertificate } from './certificates.ts';
import { createTlsServerOptions } from './tls-options.ts';

const opts = { knownModules: [], defaultModules: [] };
let dir: string;

function config(yaml: string, dataDir = 'data'): ServerConfig {
  return parseConfigText(`data_dir: ${dataDir}\n${yaml}`, dir, opts);
}

async function pemFiles(name: string, host: string, notAfterDate?: Date): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: host }], { keyType: 'ec', algorithm: 'sha256', ...(notAfterDate ? { notBeforeDate: new Date(notAfterDate.getTime() - 86_400_000), notAfterDate } : {}) });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.private);
  return { cert, key };
}

async function rejectsConfig(p: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'jabberx-certs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ensureCertificates', () => {
  it('makes a self-signed certificate per host once, then reuses the same bytes', async () => {
    const c = config('hosts:\n  example.org: {}\n  bücher.example: {}\n');
    const first = await ensureCertificates(c);
    const org = first.get('example.org');
    assert.equal(org?.selfSigned, true);
    const x509 = new X509Certificate(org.cert);
    assert.equal(x509.subjectAltName, 'DNS:example.org');
    assert.ok(x509.checkPrivateKey(createPrivateKey(org.key)));
    const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 360 && days < 367, `valid ${days} days`);
    // IDN hosts are stored and named by their A-label.
    assert.equal(new X509Certificate(first.get('bücher.example')?.cert ?? '').subjectAltName, 'DNS:xn--bcher-kva.example');
    const keyPath = join(c.data_dir, 'certs', 'example.org.key');
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(c.data_dir, 'certs', 'example.org.crt'), 'utf8'), org.cert);

    const second = await ensureCertificates(c);
    assert.equal(second.get('example.org')?.cert, org.cert);
    assert.equal(second.get('example.org')?.key, org.key);
  });

  it('replaces a stored self-signed certificate that has expired', async () => {
    const c = config('hosts:\n  old.example: {}\n', 'expired');
    const certs = join(c.data_dir, 'certs');
    mkdirSync(certs, { recursive: true });
    const stale = await generate([{ name: 'commonName', value: 'old.example' }], { keyType: 'ec', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 2 * 86_400_000), notAfterDate: new Date(Date.now() - 86_400_000) });
    writeFileSync(join(certs, 'old.example.crt'), stale.cert);
    writeFileSync(join(certs, 'old.example.key'), stale.private);
    const fresh = (await ensureCertificates(c)).get('old.example');
    assert.notEqual(fresh?.cert, stale.cert);
    assert.ok((fresh?.expiresAt.getTime() ?? 0) > Date.now());
  });

  it('uses a host’s own files, else the global tls certificate', async () => {
    const own = await pemFiles('own', 'example.org');
    const global = await pemFiles('global', 'other.example');
    const c = config(`tls: { certificate: global.pem, key: global.key }\nhosts:\n  example.org: { certificate: own.pem, key: own.key }\n  other.example: {}\n`);
    const certs = await ensureCertificates(c);
    assert.deepEqual(certs.get('example.org'), { cert: readFileSync(own.cert, 'utf8'), key: readFileSync(own.key, 'utf8'), selfSigned: false, expiresAt: certs.get('example.org')?.expiresAt, matchesHost: true });
    assert.equal(certs.get('other.example')?.cert, readFileSync(global.cert, 'utf8'));
    assert.equal(certs.get('other.example')?.selfSigned, false);
  });

  it('names the host and option when files are missing, wrong or mismatched', async () => {
    await pemFiles('a', 'example.org');
    await pemFiles('b', 'example.org');
    const host = (cert: string, key: string) => config(`hosts:\n  example.org: { certificate: ${cert}, key: ${key} }\n`);
    await rejectsConfig(ensureCertificates(host('missing.pem', 'a.key')), 'hosts.example.org.certificate', 'host example.org', 'no such file');
    await rejectsConfig(ensureCertificates(host('a.pem', 'missing.key')), 'hosts.example.org.key', 'no such file');
    await rejectsConfig(ensureCertificates(host('a.key', 'a.key')), 'hosts.example.org.certificate', 'no PEM certificate');
    await rejectsConfig(ensureCertificates(host('a.pem', 'a.pem')), 'hosts.example.org.key', 'private key');
    await rejectsConfig(ensureCertificates(host('a.pem', 'b.key')), 'hosts.example.org.key', 'not the private key');
    await rejectsConfig(ensureCertificates(config('tls: { certificate: gone.pem, key: a.key }\n')), 'tls.certificate', 'host localhost');
  });
});

describe('TLS server options', () => {
  let server: Server;
  let port: number;
  let certs: Map<string, HostCertificate>;

  before(async () => {
    const c = config('hosts:\n  first.example: {}\n  second.example: {}\n', 'tls-data');
    certs = await ensureCertificates(c);
    server = createServer(createTlsServerOptions(c, certs), (socket) => socket.end('hi'));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((res) => server.close(() => res())));

  /** Connects and resolves with the negotiated version and the certificate's SAN; rejects on handshake failure. */
  function handshake(options: ConnectionOptions): Promise<{ version: string | null; san: string | undefined }> {
    return new Promise((res, rej) => {
      const socket = connect({ host: '127.0.0.1', port, ...options }, () => {
        const result = { version: socket.getProtocol(), san: socket.getPeerCertificate().subjectaltname };
        socket.destroy();
        res(result);
      });
      socket.on('error', rej);
    });
  }

  const trustFirst = () => ({ ca: certs.get('first.example')?.cert, servername: 'first.example' });

  it('refuses TLS 1.1 (RFC 8996)', async () => {
    // SECLEVEL=0 lets the client offer TLS 1.1, so the refusal comes from the server's alert.
    await assert.rejects(handshake({ ...trustFirst(), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });

  it('accepts TLS 1.2 and TLS 1.3 with a verified certificate', async () => {
    assert.equal((await handshake({ ...trustFirst(), maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
    assert.equal((await handshake({ ...trustFirst(), minVersion: 'TLSv1.3' })).version, 'TLSv1.3');
  });

  it('picks each host’s certificate by SNI, the first host’s without SNI', async () => {
    const second = await handshake({ ca: certs.get('second.example')?.cert, servername: 'Second.Example' });
    assert.equal(second.san, 'DNS:second.example');
    assert.equal((await handshake(trustFirst())).san, 'DNS:first.example');
    assert.equal((await handshake({ rejectUnauthorized: false })).san, 'DNS:first.example');
    assert.equal((await handshake({ rejectUnauthorized: false, servername: 'unknown.example' })).san, 'DNS:first.example');
  });

  it('keeps TLS 1.3 on when the cipher list names only TLS 1.2 suites', async () => {
    const c = config('tls: { ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" }\nhosts:\n  first.example: {}\n', 'tls-data');
    const s = createServer(createTlsServerOptions(c, await ensureCertificates(c)), (socket) => socket.end());
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    try {
      const p = (s.address() as AddressInfo).port;
      const version = await new Promise<string | null>((res, rej) => {
        const socket = connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false }, () => {
          res(socket.getProtocol());
          socket.destroy();
        });
        socket.on('error', rej);
      });
      assert.equal(version, 'TLSv1.3');
    } finally {
      await new Promise<void>((res) => s.close(() => res()));
    }
  });
});
