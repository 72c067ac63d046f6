// The web pages over https (the session cookie then Secure with the __Host- prefix) and for each
// served host: the Host header picks the host, whose accounts alone log in there.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startServer, type TestServer } from '../harness/server.ts';
import { freePort } from '../harness/net.ts';
import { chromiumUnavailable, launchChromium, screenshot } from '../harness/browser.ts';

const ALICE = 'pw-alice-5a6b7c8d';
const BOB = 'pw-bob-9e0f1a2b';

describe('web self-service over https and on several hosts', { skip: chromiumUnavailable() }, () => {
  let server: TestServer;
  let browser: Browser;
  let httpsPort: number;
  let httpPort: number;

  before(async () => {
    httpsPort = await freePort();
    httpPort = await freePort();
    server = await startServer({
      hosts: ['localhost', 'b.localhost'],
      users: [['alice@localhost', ALICE], ['bob@b.localhost', BOB]],
      config: {
        listeners: [
          { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
          { type: 'https', port: httpsPort, address: '127.0.0.1' },
          { type: 'http', port: httpPort, address: '127.0.0.1' },
        ],
        modules: { disco: {}, 'web-account': {} },
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.remove();
  });

  it('on https, the session cookie is Secure, __Host- prefixed, HttpOnly and SameSite=Strict', async (t) => {
    // The test CA is not in Chromium's store.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const base = `https://localhost:${httpsPort}`;
    await page.goto(`${base}/account/login`);
    await page.getByLabel('Your address').fill('alice@localhost');
    await page.getByLabel('Password', { exact: true }).fill(ALICE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/account`);
    const cookies = await context.cookies();
    assert.deepEqual(cookies.map((c) => c.name), ['__Host-jabberx-account']);
    const [cookie] = cookies;
    assert.equal(cookie?.secure, true);
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.path, '/');
    await screenshot(t, page, 'web-https-account');
    // The same-origin check knows the scheme: logging out (a POST) works.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/account/login`);
    await context.close();
  });

  it('serves each host its own pages: the Host header picks the host, and only its accounts log in', async (t) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const base = `http://b.localhost:${httpPort}`;
    await page.goto(`${base}/account/login`);
    await page.getByText('Manage your chat account on b.localhost').waitFor();
    await page.getByLabel('Your address').fill('alice@localhost');
    await page.getByLabel('Password', { exact: true }).fill(ALICE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong address or password' }).waitFor();
    await page.getByLabel('Your address').fill('bob@b.localhost');
    await page.getByLabel('Password', { exact: true }).fill(BOB);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/account`);
    await page.getByText('Logged in as bob@b.localhost').waitFor();
    await screenshot(t, page, 'web-second-host');
    await context.close();
  });
});
