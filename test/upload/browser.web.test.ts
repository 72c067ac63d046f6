// A web client on another origin (as Converse.js runs) uploads and shows a file: Chromium's own
// CORS preflight for the PUT, the cross-origin GET, and an <img> of the uploaded image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import type { TestServer } from '../harness/server.ts';
import { chromiumUnavailable, launchChromium } from '../harness/browser.ts';
import { requestSlot, startUploadServer } from './helpers.ts';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

describe('upload from a web client on another origin', { skip: chromiumUnavailable() }, () => {
  let server: TestServer;
  let browser: Browser;
  let site: http.Server;
  let origin: string;

  before(async () => {
    ({ server } = await startUploadServer({ users: [['alice@localhost', 'pw-alice']] }));
    site = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>web client</title>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    site?.close();
    await server?.remove();
  });

  it('PUTs through the preflight, then reads and shows the file', async (t) => {
    const alice = await server.connectClient(t, 'alice');
    const slot = await requestSlot(alice, 'dot.png', PNG.length, 'image/png');
    // The test CA is not in Chromium's store.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(origin);
    const result = await page.evaluate(async ({ url, bytes }) => {
      const body = new Uint8Array(bytes);
      const put = await fetch(url, { method: 'PUT', body, headers: { 'Content-Type': 'image/png' } });
      const get = await fetch(url);
      const got = new Uint8Array(await get.arrayBuffer());
      const img = document.createElement('img');
      const loaded = await new Promise<boolean>((resolve) => {
        img.onload = () => resolve(true);
        img.onerror = () => resolve(false);
        img.src = url;
        document.body.append(img);
      });
      return { put: put.status, get: get.status, same: got.length === body.length && got.every((b, i) => b === body[i]), type: get.headers.get('content-type'), loaded, width: img.naturalWidth };
    }, { url: slot.put, bytes: [...PNG] });
    assert.deepEqual(result, { put: 201, get: 200, same: true, type: 'image/png', loaded: true, width: 1 });
    await context.close();
  });
});
