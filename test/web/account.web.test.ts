// Web self-service end to end: the real server with its HTTP listener, Debian's Chromium driving
// the pages as a user would, stock XMPP clients checking the effects, and a real SMTP server
// (aiosmtpd) receiving the reset mail. Last, the raw data directory and logs are searched for
// what must never be kept: the e-mail address, passwords, the reset token, IP addresses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { freePort } from '../harness/net.ts';
import { chromiumUnavailable, launchChromium, screenshot } from '../harness/browser.ts';
import { smtpSinkUnavailable, startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';

const PASSWORDS = { alice: 'PwMarker-alice-0a1b2c', aliceChanged: 'PwMarker-changed-3d4e5f', aliceReset: 'PwMarker-reset-6a7b8c', bob: 'PwMarker-bob-9d0e1f' };
const EMAIL = 'MailMarker.Alice@example.org';
/** IPv4 dotted quads and the IPv6 forms a loopback peer shows up as. */
const IP_PATTERNS = [/(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/, /::ffff:/i, /(?<![\w:])::1(?![\w:])/];

const skip = chromiumUnavailable() ?? smtpSinkUnavailable();

describe('web self-service in Chromium', { skip }, () => {
  let server: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let alicePassword = PASSWORDS.alice;
  let resetToken = '';

  before(async () => {
    sink = await startSmtpSink();
    const httpPort = await freePort();
    base = `http://localhost:${httpPort}`;
    server = await startServer({
      users: [['alice@localhost', PASSWORDS.alice], ['bob@localhost', PASSWORDS.bob]],
      config: {
        listeners: [
          { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
          { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
          { type: 'http', port: httpPort, address: '127.0.0.1' },
        ],
        policy: { service_name: 'Example Chat' },
        modules: {
          disco: {}, roster: {}, vcard: {}, offline: {},
          email: { smtp_host: '127.0.0.1', smtp_port: sink.port, smtp_tls: 'none', from: 'chat@localhost' },
          'web-account': {},
        },
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await sink?.stop();
    await server?.remove();
  });

  /** A fresh browser profile (no cookies) with one page. */
  async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    return { context, page: await context.newPage() };
  }

  async function logIn(page: Page, address: string, password: string): Promise<void> {
    await page.goto(`${base}/account/login`);
    await page.getByLabel('Your address').fill(address);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('serves the pages with a strict CSP, the inline style allowed by its hash, and no script', async (t) => {
    const { context, page } = await freshPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const res = await page.goto(`${base}/account/login`);
    assert.equal(res?.status(), 200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /unsafe-inline|script-src/);
    assert.equal(res?.headers()['x-frame-options'], 'DENY');
    assert.equal(res?.headers()['cache-control'], 'no-store');
    // The stylesheet applied: its hash matches.
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).maxWidth), '576px');
    assert.deepEqual(violations, []);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('script').count(), 0);
    assert.match(await page.title(), /Log in · Example Chat/);
    await screenshot(t, page, 'web-login');
    // Other methods and oversized forms are refused before anything else.
    const put = await fetch(`${base}/account/login`, { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD, POST');
    const huge = await fetch(`${base}/account/login`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `address=${'a'.repeat(20_000)}` });
    assert.equal(huge.status, 413);
    // Without the register module nothing is offered, and the page says so.
    await page.goto(`${base}/account/register`);
    await page.getByText('Registration is closed on localhost').waitFor();
    // The privacy policy states what the e-mail module keeps.
    const privacy = await (await fetch(`${base}/privacy.txt`)).text();
    assert.match(privacy, /E-mail address: only if you give one, and only to send you a link to reset\s+your password/);
    await context.close();
  });

  it('logs in with the address and password, and refuses a wrong password', async (t) => {
    const { context, page } = await freshPage();
    await logIn(page, 'alice@localhost', 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'Wrong address or password' }).waitFor();
    await screenshot(t, page, 'web-login-wrong');
    await page.getByLabel('Password', { exact: true }).fill(alicePassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/account`);
    await page.getByText('Logged in as alice@localhost').waitFor();
    // Logged in, the login page leads to the account page.
    await page.goto(`${base}/account/login`);
    await page.waitForURL(`${base}/account`);
    const cookie = (await context.cookies()).find((c) => c.name === 'jabberx-account');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(Buffer.from(cookie.value, 'base64url').length >= 32, '256-bit session id');
    await screenshot(t, page, 'web-account');
    // Log out: the cookie no longer opens the account page.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/account/login`);
    await page.goto(`${base}/account`);
    await page.waitForURL(`${base}/account/login`);
    await context.close();
  });

  it('changes the password; a stock XMPP client then logs in with the new one', async (t) => {
    const { context, page } = await freshPage();
    await logIn(page, 'alice@localhost', alicePassword);
    await page.waitForURL(`${base}/account`);
    await page.getByLabel('Current password').fill(alicePassword);
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again').fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();
    await page.getByLabel('Current password').fill(alicePassword);
    await page.getByLabel('New password', { exact: true }).fill(PASSWORDS.aliceChanged);
    await page.getByLabel('New password again').fill(PASSWORDS.aliceChanged);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password has been changed' }).waitFor();
    await screenshot(t, page, 'web-password-changed');
    alicePassword = PASSWORDS.aliceChanged;
    const client = await server.connectClient(t, 'alice', { password: alicePassword });
    assert.equal(client.jid.bare().toString(), 'alice@localhost');
    await client.close();
    await context.close();
  });

  it('sets the e-mail address for password reset, refusing one that is not an address', async (t) => {
    const { context, page } = await freshPage();
    await logIn(page, 'alice@localhost', alicePassword);
    await page.waitForURL(`${base}/account`);
    await page.getByRole('textbox', { name: 'E-mail address', exact: true }).fill('not an address');
    await page.getByLabel('Your password', { exact: true }).fill(alicePassword);
    // The browser's own check of type=email would stop the form: post it as typed.
    await page.locator('form[action="/account/email"]').first().evaluate((f) => f.setAttribute('novalidate', ''));
    await page.getByRole('button', { name: 'Save e-mail address' }).click();
    await page.getByRole('alert').filter({ hasText: 'does not look like an e-mail address' }).waitFor();
    await page.getByRole('textbox', { name: 'E-mail address', exact: true }).fill(EMAIL);
    await page.getByLabel('Your password', { exact: true }).fill(alicePassword);
    await page.getByRole('button', { name: 'Save e-mail address' }).click();
    await page.getByRole('status').filter({ hasText: 'Your e-mail address has been saved' }).waitFor();
    await page.getByText(`On file: ${EMAIL}`).waitFor();
    await screenshot(t, page, 'web-email-set');
    await context.close();
  });

  it('refuses a POST without the CSRF token, and a form sent from another site (403)', async () => {
    const { context, page } = await freshPage();
    await logIn(page, 'alice@localhost', alicePassword);
    await page.waitForURL(`${base}/account`);
    // With the session cookie but without the form's token.
    const noToken = await context.request.post(`${base}/account/email`, { form: { action: 'remove' } });
    assert.equal(noToken.status(), 403);
    const wrongToken = await context.request.post(`${base}/account/password`, { form: { csrf: 'x'.repeat(43), current: alicePassword, new: 'PwMarker-evil-000000', confirm: 'PwMarker-evil-000000' } });
    assert.equal(wrongToken.status(), 403);
    // A page of another origin whose form posts to the account page, in the same browser.
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!DOCTYPE html><form method="post" action="${base}/account/email"><input name="action" value="remove"><button>Win a prize</button></form>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilPort = (evil.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${evilPort}/`);
    const [answer] = await Promise.all([page.waitForResponse(`${base}/account/email`), page.getByRole('button', { name: 'Win a prize' }).click()]);
    assert.equal(answer.status(), 403);
    evil.close();
    // Nothing changed.
    await page.goto(`${base}/account`);
    await page.getByText(`On file: ${EMAIL}`).waitFor();
    await context.close();
  });

  it('resets a forgotten password by e-mail: same answer for an unknown address, a single-use link', async (t) => {
    const { context, page } = await freshPage();
    await page.goto(`${base}/account/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Your chat address or your e-mail address').fill('nobody@example.net');
    await page.getByRole('button', { name: 'Send a reset link' }).click();
    const unknownAnswer = await page.locator('main').innerText();
    await page.goto(`${base}/account/forgot`);
    // The address as stored but in other case: found all the same.
    await page.getByLabel('Your chat address or your e-mail address').fill(EMAIL.toLowerCase());
    await page.getByRole('button', { name: 'Send a reset link' }).click();
    assert.equal(await page.locator('main').innerText(), unknownAnswer, 'the page answers the same whether or not the address is on file');
    assert.match(unknownAnswer, /If an e-mail address is on file for this account, a mail with a link was sent to it/);
    await screenshot(t, page, 'web-reset-requested');

    const mail = await sink.waitFor((m) => (m.header('To') ?? '').includes(EMAIL));
    const link = /http:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_%-]+/.exec(mail.text)?.[0];
    assert.ok(link, `a reset link in the mail:\n${mail.text}`);
    assert.ok(link.startsWith(`${base}/account/reset?token=`), link);
    resetToken = decodeURIComponent(new URL(link).searchParams.get('token') ?? '');
    assert.ok(resetToken.length >= 43);
    assert.doesNotMatch(mail.text, /127\.0\.0\.1|::1|bob/, 'no client address, no other account');
    assert.equal(sink.messages().length, 1, 'nothing mailed for the unknown address');

    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill(PASSWORDS.aliceReset);
    await page.getByLabel('New password again').fill(PASSWORDS.aliceReset);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Password changed' }).waitFor();
    await screenshot(t, page, 'web-reset-done');
    alicePassword = PASSWORDS.aliceReset;
    const client = await server.connectClient(t, 'alice', { password: alicePassword });
    await client.close();
    // The link worked once.
    const again = await page.goto(link);
    assert.equal(again?.status(), 410);
    await page.getByText('This link has expired or was already used').waitFor();
    await context.close();
  });

  it('deletes the account: its chat session ends, a stock client can no longer log in, the name is free', async (t) => {
    const online = await server.connectClient(t, 'alice', { password: alicePassword });
    const { context, page } = await freshPage();
    await logIn(page, 'alice@localhost', alicePassword);
    await page.waitForURL(`${base}/account`);
    await page.getByRole('link', { name: /Delete your account/ }).click();
    await page.getByLabel('Your password', { exact: true }).fill(alicePassword);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    // The browser requires the box: nothing is sent without it.
    assert.equal(page.url(), `${base}/account/delete`);
    await page.getByLabel(/I understand/).check();
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Account deleted' }).waitFor();
    await screenshot(t, page, 'web-account-deleted');
    await online.offline;
    await assert.rejects(server.connectClient(undefined, 'alice', { password: alicePassword }));
    // The session is gone with the account.
    await page.goto(`${base}/account`);
    await page.waitForURL(`${base}/account/login`);
    const again = await server.cli(['adduser', 'alice@localhost', '--password', 'PwMarker-again-2b3c4d']);
    assert.equal(again.code, 0, again.stderr);
    await context.close();
  });

  it('keeps no e-mail address, password, reset token or IP address in the data directory or the logs', async () => {
    assert.ok(resetToken, 'the reset flow ran');
    const output = server.logs();
    await server.stop();
    const files = listFiles(server.dataDir).map((path) => ({ path, text: readFileSync(path).toString('latin1') }));
    files.push({ path: 'server output', text: output });
    assert.ok(files.some((f) => f.path.endsWith('.sqlite')) && files.some((f) => f.path.endsWith('jabberx.log')));
    const secrets = [EMAIL, EMAIL.toLowerCase(), 'MailMarker', 'mailmarker', resetToken, ...Object.values(PASSWORDS), 'PwMarker'];
    for (const f of files) {
      for (const s of secrets) assert.ok(!f.text.includes(s), `${s} found in ${f.path}`);
      if (f.path.includes('/certs/')) continue; // PEM: base64, no addresses
      for (const re of IP_PATTERNS) assert.ok(!re.test(f.text), `${re} matches ${f.path}: ${re.exec(f.text)?.[0]}`);
    }
  });
});
