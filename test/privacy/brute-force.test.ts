// Brute-force protection: failed logins are counted per address (in memory only), delayed, then
// refused with a clear SASL failure; another address is unaffected; everything expires.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { authenticate, connectSecured, rawLogin } from '../harness/raw.ts';

const WINDOW_S = 6;

describe('brute-force protection (privacy policy §3: the failed-login exception)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      users: [['alice@localhost', 'right-password']],
      config: {
        security: {
          failed_login_window: `${WINDOW_S}s`,
          failed_login_delay_after: 7,
          failed_login_max_per_address: 10,
          failed_login_max_per_account: 100,
        },
      },
    });
  });
  after(() => server.remove());

  const attempt = async (password: string, localAddress: string) => {
    const { conn } = await connectSecured({ port: server.ports.c2s_starttls, localAddress });
    const started = Date.now();
    const res = await authenticate(conn, { mechanism: 'SCRAM-SHA-256', username: 'alice', password });
    const ms = Date.now() - started;
    await new Promise((r) => setTimeout(r, 20)); // let the failure's <text/> arrive too
    const text = conn.text;
    conn.destroy();
    return { ...res, ms, text };
  };

  it('20 wrong passwords from one address are slowed down, then refused; another address still logs in', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await attempt(`wrong-${i}`, '127.0.0.1'));
    assert.ok(results.slice(0, 10).every((r) => r.condition === 'not-authorized'), 'the first ten are plain failures');
    assert.ok(results.slice(0, 6).every((r) => r.ms < 200) && results.slice(6, 9).every((r) => r.ms >= 200), `answers are delayed after 7 failures: ${results.map((r) => r.ms).join(',')}`);
    assert.ok(results.slice(10).every((r) => r.condition === 'temporary-auth-failure'), 'then refused');
    assert.match(results[19]?.text ?? '', /Too many failed logins from your address/);
    // Even the right password is refused from the throttled address…
    assert.equal((await attempt('right-password', '127.0.0.1')).condition, 'temporary-auth-failure');
    // …but works from another one.
    const other = await rawLogin({ port: server.ports.c2s_starttls, localAddress: '127.0.0.2', username: 'alice', password: 'right-password' });
    assert.ok(other.jid?.startsWith('alice@localhost/'));
    other.conn.destroy();
  });

  it('forgets the failures when the window ends, and never writes them down', async () => {
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 500));
    const again = await attempt('right-password', '127.0.0.1');
    assert.equal(again.success, true, again.transcript.join(''));
    await server.stop();
    for (const f of listFiles(server.dataDir)) {
      const text = readFileSync(f).toString('latin1');
      assert.ok(!/127\.0\.0\.[12]/.test(text), `an address was written to ${f}`);
    }
  });
});
