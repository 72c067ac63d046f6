// Process control of `jabberx start` as an operator meets it: SIGHUP from logrotate or a certbot
// hook, a second server on the same data directory, a port already taken (issue 13).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { parse, stringify } from 'yaml';
import { existsSync } from 'node:fs';
import { startServer, type TestServer } from '../harness/server.ts';
import { jabberx } from '../harness/cli.ts';
import { issueTestCertificate } from '../harness/test-ca.ts';
import { until } from '../harness/eventually.ts';
import { servedFingerprint } from '../harness/net.ts';

describe('SIGHUP', () => {
  let server: TestServer;
  before(async () => {
    // No file watch: each reload here comes from SIGHUP.
    server = await startServer({ users: [['alice@localhost', 'pw-alice']], config: { tls: { watch: false } } });
  });
  after(() => server.remove());

  it('re-reads the certificates, logs it and keeps serving logins', async (t) => {
    const before = await servedFingerprint(server.ports.c2s_direct_tls);
    const open = await server.connectClient(t, 'alice', { resource: 'before' });
    // certbot renews the files in place, then its deploy hook sends SIGHUP.
    const { certificate } = await issueTestCertificate('localhost', join(server.root, 'certs'));
    const renewed = new X509Certificate(readFileSync(certificate)).fingerprint256;
    assert.notEqual(renewed, before);
    server.process.kill('SIGHUP');
    await until('the reload log line', () => server.logs().includes('certificates re-read'));
    assert.equal(server.process.exitCode, null, 'the server is still running');
    assert.equal(server.process.signalCode, null);
    assert.equal(await servedFingerprint(server.ports.c2s_direct_tls), renewed, 'new connections get the new certificate');
    const client = await server.connectClient(t, 'alice', { resource: 'after' });
    assert.ok(client);
    // The session opened before the reload is still there.
    await open.ping();
    server.process.kill('SIGHUP');
    await until('the second reload', () => server.logs().split('certificates re-read').length > 2);
    assert.match(server.logs(), /no setting changed in the configuration file/);
    // A changed setting is named: it needs a restart.
    const cfg = parse(readFileSync(server.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(server.configPath, stringify({ ...cfg, limits: { idle_timeout: '20m' } }));
    server.process.kill('SIGHUP');
    await until('the changed settings', () => /need a restart/.test(server.logs()));
    assert.match(server.logs(), /"restart":\["limits\.idle_timeout"\]/);
    await server.connectClient(t, 'alice', { resource: 'last' });
    assert.equal(server.process.exitCode, null);
  });
});

describe('a second server on the same data directory', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [['alice@localhost', 'pw-alice']] });
  });
  after(() => server.remove());

  it('refuses to start, and leaves the first one reachable by the CLI and by clients', async (t) => {
    const lockFile = join(server.dataDir, 'server.lock');
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(server.process.pid));
    const second = await jabberx(['start', '--config', server.configPath, '--allow-root']);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`^jabberx: the data directory .* is in use by a running server \\(pid ${server.process.pid}\\); stop it first`));
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(existsSync(join(server.dataDir, 'control.sock')), 'the control socket is still there');
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(server.process.pid));
    const status = await server.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /"sessions"/);
    await server.connectClient(t, 'alice');
  });

  it('takes over a lock left by a server that is gone, and removes its own at exit', async () => {
    await server.stop();
    const lockFile = join(server.dataDir, 'server.lock');
    assert.equal(existsSync(lockFile), false, 'a stopped server removes its lock');
    writeFileSync(lockFile, '999999999\n'); // as a SIGKILLed server leaves it
    server = await startServer({ root: server.root });
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(server.process.pid));
  });
});

describe('a port already in use', () => {
  it('stops start-up with one line naming the listener, address and port, and exit 1', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const err = await startServer({
        readyTimeoutMs: 20_000,
        config: {
          listeners: [
            { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
            { type: 'c2s_direct_tls', port, address: '127.0.0.1' },
          ],
        },
      }).then(() => undefined, (e: unknown) => e as Error);
      assert.ok(err, 'the server must not start');
      assert.match(err.message, /exited before ready \(code 1,/);
      assert.match(err.message, new RegExp(`jabberx: listeners\\[1\\] \\(c2s_direct_tls, line \\d+\\): cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`));
      assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace');
    } finally {
      squatter.close();
    }
  });
});
