// "Download my data" on the web page: the account's XEP-0227 document as an attachment.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import { chromiumUnavailable, launchChromium, screenshot, startWebServer } from '../harness/browser.ts';

const PASSWORD = 'PwMarker-dave-1c2d3e';

describe('download of one\'s data on the web page', { skip: chromiumUnavailable() }, () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    ({ server, base } = await startWebServer({
      users: [['dave@localhost', PASSWORD], ['erin@localhost', 'pw-erin-123456']],
      config: {
        modules: { disco: {}, roster: {}, vcard: {}, 'web-account': {} },
      },
    }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.remove();
  });

  it('serves the XEP-0227 document of the logged-in account as an attachment', async (t) => {
    const client = await server.connectClient(t, 'dave', { password: PASSWORD });
    await client.iqSet(xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: 'erin@localhost', name: 'Erin' })));
    await client.close();
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${base}/account/login`);
    await page.getByLabel('Your address').fill('dave@localhost');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/account`);
    await screenshot(t, page, 'web-export');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download everything/ }).click()]);
    assert.equal(download.suggestedFilename(), 'dave@localhost.xml');
    const text = readFileSync(await download.path(), 'utf8');
    assert.match(text, /<server-data[^>]*xmlns=['"]urn:xmpp:pie:0['"]/);
    assert.match(text, /<host[^>]*jid=['"]localhost['"]/);
    assert.match(text, /<user[^>]*name=['"]dave['"]/);
    assert.match(text, /erin@localhost/);
    assert.doesNotMatch(text, /name=['"]erin['"]/, 'only the logged-in account');
    await context.close();
  });
});
