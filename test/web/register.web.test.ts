// Creating an account on the web page (through the register module's shared `registration`
// service), logging in with a stock client, deleting it and registering the name again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../harness/server.ts';
import { chromiumUnavailable, launchChromium, screenshot, startWebServer } from '../harness/browser.ts';

/** The register module's options for open registration (no invite, no CAPTCHA): adjust to its option names at merge. */
const OPEN_REGISTRATION = { mode: 'open' };
const PASSWORD = 'PwMarker-web-8f9a0b';


describe('registration on the web page', { skip: chromiumUnavailable() }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    ({ server, base } = await startWebServer({
      config: {
        modules: { disco: {}, roster: {}, register: OPEN_REGISTRATION, 'web-account': {} },
      },
    }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.remove();
  });

  async function registerCarol(page: Page): Promise<void> {
    await page.goto(`${base}/account/register`);
    await page.getByLabel('User name').fill('carol');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Account created' }).waitFor();
  }

  it('creates an account a stock client logs in to; once deleted, the name can be registered again', async (t) => {
    const page = await browser.newPage();
    await registerCarol(page);
    await screenshot(t, page, 'web-registered');
    const client = await server.connectClient(t, 'carol', { password: PASSWORD });
    await client.close();
    // A taken name is refused with the service's reason.
    await page.goto(`${base}/account/register`);
    await page.getByLabel('User name').fill('carol');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').waitFor();
    // Delete it on the web, then register the name again.
    await page.goto(`${base}/account/login`);
    await page.getByLabel('Your address').fill('carol@localhost');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/account`);
    await page.goto(`${base}/account/delete`);
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByLabel(/I understand/).check();
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Account deleted' }).waitFor();
    await assert.rejects(server.connectClient(undefined, 'carol', { password: PASSWORD }));
    await registerCarol(page);
    const again = await server.connectClient(t, 'carol', { password: PASSWORD });
    await again.close();
    await page.close();
  });
});
