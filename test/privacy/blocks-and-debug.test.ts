// Operator controls from the privacy policy: IP and range blocks (refused before TLS on every
// listener, at once, persisted) and debug logs that exist only while switched on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';
import { rawLogin, streamErrorCondition } from '../harness/raw.ts';

/** Resolves with what happened to a plain TCP connection from `localAddress`: refused early or open. */
function probe(port: number, localAddress: string): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('open');
    }, 400);
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.on('error', () => undefined);
  });
}

describe('IP and range blocks', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      users: [['alice@localhost', 'pw-alice']],
      config: {
        security: { blocked_ips: ['127.0.0.3'] },
        listeners: [
          { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
          { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
          { type: 'http', port: 0, address: '127.0.0.1' },
        ],
      },
    });
  });
  after(() => server.remove());

  it('refuses a configured address before TLS on every listener, and admits others', async () => {
    assert.deepEqual(Object.keys(server.ports).sort(), ['c2s_direct_tls', 'c2s_starttls', 'http']);
    for (const port of Object.values(server.ports)) {
      assert.equal(await probe(port, '127.0.0.3'), 'closed', `port ${port}`);
      assert.equal(await probe(port, '127.0.0.5'), 'open', `port ${port}`);
    }
  });

  it('blocks a range at run time: new connections refused, open sessions closed; unblock restores', async () => {
    const s = await rawLogin({ port: server.ports.c2s_starttls, localAddress: '127.0.0.40', username: 'alice', password: 'pw-alice' });
    const res = await server.cli(['block', '127.0.0.32/28']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /blocked 127\.0\.0\.32\/28; closed 1 connection/);
    await s.conn.closed;
    assert.equal(streamErrorCondition(s.conn.text), 'policy-violation');
    for (const port of Object.values(server.ports)) assert.equal(await probe(port, '127.0.0.33'), 'closed');
    assert.equal(await probe(server.ports.c2s_starttls, '127.0.0.48'), 'open', 'outside the /28');

    const list = await server.cli(['blocks']);
    assert.deepEqual(list.stdout.trim().split('\n').sort(), ['127.0.0.3/32', '127.0.0.32/28']);

    assert.equal((await server.cli(['unblock', '127.0.0.32/28'])).code, 0);
    assert.equal(await probe(server.ports.c2s_starttls, '127.0.0.33'), 'open');
  });

  it('keeps run-time blocks across restarts and explains bad input', async () => {
    assert.equal((await server.cli(['block', '2001:db8::/32'])).code, 0);
    const bad = await server.cli(['block', 'not-an-address']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /not an IP address or CIDR range/);
    await server.stop();
    const offline = await server.cli(['blocks']);
    assert.match(offline.stdout, /2001:db8::\/32/);
  });
});

describe('debug logging on demand', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [['bob@localhost', 'DebugPwMarker-81c3']], config: { log: { level: 'info' } } });
  });
  after(() => server.remove());
  const debugFile = () => join(server.dataDir, 'debug.log');

  it('writes verbose logs into their own file while on, and deletes the file when switched off', async () => {
    assert.equal(existsSync(debugFile()), false);
    const on = await server.cli(['debug', 'on']);
    assert.equal(on.code, 0, on.stderr);
    const s = await rawLogin({ port: server.ports.c2s_starttls, username: 'bob', password: 'DebugPwMarker-81c3' });
    s.conn.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const text = readFileSync(debugFile(), 'utf8');
    assert.match(text, /"level":"debug"/);
    assert.ok(!text.includes('DebugPwMarker-81c3'), 'no password in the debug log');
    assert.ok(!/127\.0\.0\.1/.test(text), 'no address in the debug log');
    assert.ok(!/"level":"debug"/.test(readFileSync(server.logFile, 'utf8')), 'the main log stays at its level');
    const off = await server.cli(['debug', 'off']);
    assert.equal(off.code, 0);
    assert.equal(existsSync(debugFile()), false, 'debug off leaves no debug file behind');
  });

  it('switches itself off at the end of --for', async () => {
    assert.equal((await server.cli(['debug', 'on', '--for', '1s'])).code, 0);
    assert.equal(existsSync(debugFile()), true);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(existsSync(debugFile()), false);
    assert.match((await server.cli(['debug', 'status'])).stdout, /off/);
  });

  it('says clearly when no server runs', async () => {
    await server.stop();
    const res = await server.cli(['debug', 'on']);
    assert.equal(res.code, 69);
    assert.match(res.stderr, /^jabberx: no server is running on .* \(debug logging is switched on a running server\)\n$/);
  });
});

