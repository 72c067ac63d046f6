// One brute-force throttle for XMPP and the web: failed logins from an address count the same
// whether they come through SASL or the web login form, and an address refused by one is refused
// by the other. The test changes only the limit it is about (failed_login_max_per_address).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../harness/server.ts';
import { authenticate, connectSecured, rawLogin } from '../harness/raw.ts';
import { chromiumUnavailable, launchChromium, screenshot, startWebServer } from '../harness/browser.ts';

const MAX_PER_ADDRESS = 3;
const PASSWORD = 'right-password-4e5f';

describe('failed logins: one throttle for XMPP and the web pages', { skip: chromiumUnavailable() }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    ({ server, base } = await startWebServer({
      users: [['alice@localhost', PASSWORD]],
      config: {
        security: { failed_login_max_per_address: MAX_PER_ADDRESS },
        modules: { disco: {}, 'web-account': {} },
      },
    }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.remove();
  });

  async function webLogin(page: Page, password: string): Promise<number | undefined> {
    await page.goto(`${base}/account/login`);
    await page.getByLabel('Your address').fill('alice@localhost');
    await page.getByLabel('Password', { exact: true }).fill(password);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url() === `${base}/account/login` && r.request().method() === 'POST'), page.getByRole('button', { name: 'Log in' }).click()]);
    await page.waitForLoadState();
    return res.status();
  }

  /** An XMPP login over SASL SCRAM-SHA-256 from a loopback address: the SASL failure condition, or 'ok'. */
  async function xmppLogin(password: string, localAddress = '127.0.0.1'): Promise<string> {
    const { conn } = await connectSecured({ port: server.ports.c2s_starttls, localAddress });
    const res = await authenticate(conn, { mechanism: 'SCRAM-SHA-256', username: 'alice', password });
    conn.destroy();
    return res.success ? 'ok' : (res.condition ?? 'failure');
  }

  it('after failed XMPP logins from an address, the web login from it is refused too', async (t) => {
    for (let i = 0; i < MAX_PER_ADDRESS; i++) assert.equal(await xmppLogin(`wrong-${i}`), 'not-authorized');
    const page = await browser.newPage();
    assert.equal(await webLogin(page, PASSWORD), 429, 'the right password is refused from this address');
    await page.getByRole('alert').filter({ hasText: 'Too many failed logins from your address' }).waitFor();
    await screenshot(t, page, 'web-login-throttled');
    const cleared = await server.cli(['throttle', 'clear', '127.0.0.1']);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(await webLogin(page, PASSWORD), 303);
    assert.equal(page.url(), `${base}/account`);
    await page.close();
  });

  it('after failed web logins from an address, XMPP logins from it are refused too', async () => {
    // (The first test cleared the address's record.)
    const page = await browser.newPage();
    for (let i = 0; i < MAX_PER_ADDRESS; i++) assert.equal(await webLogin(page, `wrong-${i}`), 403);
    await page.close();
    assert.equal(await xmppLogin(PASSWORD), 'temporary-auth-failure');
    // Another address is not affected.
    const other = await rawLogin({ port: server.ports.c2s_starttls, localAddress: '127.0.0.2', username: 'alice', password: PASSWORD });
    assert.ok(other.jid?.startsWith('alice@localhost/'));
    other.conn.destroy();
  });
});
