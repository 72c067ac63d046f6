// Test harness: Debian's Chromium, headless, driven by playwright-core (the stock browser as
// users have it), with screenshots kept under test-output/screenshots/ for a human to look at.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './paths.ts';
import { freePort } from './net.ts';
import { startServer, type StartOptions, type TestServer } from './server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'screenshots');

/** Why Chromium can't run here, or undefined when it can. */
export function chromiumUnavailable(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : 'chromium is not installed (apt-get install chromium)';
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** Saves a full-page screenshot as test-output/screenshots/NAME.png and names the file in the test's output. */
export async function screenshot(t: TestContext, page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
  return path;
}

/**
 * A server for the web pages: a STARTTLS listener and an http listener on a port known before
 * start (the pages' base URL is http://localhost:PORT), with `config` merged over that.
 */
export async function startWebServer(opts: StartOptions & { config: Record<string, unknown> }): Promise<{ server: TestServer; base: string }> {
  const httpPort = await freePort();
  const listeners = [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }, { type: 'http', port: httpPort, address: '127.0.0.1' }];
  const server = await startServer({ ...opts, config: { listeners, ...opts.config } });
  return { server, base: `http://localhost:${httpPort}` };
}
