// Tests for the HTTP(S) policy-page listener: real sockets on port 0.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { listenHttp, type HttpPage } from './http.ts';
import type { Listener } from './tcp.ts';
import { parseConfigText } from '../core/config.ts';
import { derivePolicyFacts, stampPolicy } from '../policy/facts.ts';
import { policyPage } from '../policy/render.ts';
import { moduleRegistry } from '../modules/registry.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, path: string, secure?: { ca: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, method, path, agent: false as const };
    const done = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    };
    const req = secure ? https.request({ ...opts, ca: secure.ca, servername: 'localhost' }, done) : http.request(opts, done);
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and collects everything until the server closes the connection. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('connect', () => s.write(data));
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

const TERMS: HttpPage = { contentType: 'text/html; charset=utf-8', body: '<!DOCTYPE html><p>Terms ü</p>', styleHashes: ["'sha256-abc='"] };

function assertSecurityHeaders(h: http.IncomingHttpHeaders): void {
  assert.match(String(h['content-security-policy']), /^default-src 'none'/);
  assert.match(String(h['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['server'], undefined);
}

describe('HTTP listener', () => {
  let listener: Listener;
  let version = 1;
  const admitted: (string | undefined)[] = [];
  const errors: unknown[] = [];
  let blocked = false;

  before(async () => {
    listener = await listenHttp(
      { port: 0, address: '127.0.0.1', onError: (e) => errors.push(e) },
      (address) => {
        admitted.push(address);
        return !blocked;
      },
      (path) => {
        if (path === '/terms') return TERMS;
        if (path === '/privacy.txt') return { contentType: 'text/plain; charset=utf-8', body: `privacy v${version}\n` };
        if (path === '/broken') throw new Error('secret detail');
        return undefined;
      },
    );
  });
  after(() => listener.close());

  it('serves a page with its content type, length and security headers', async () => {
    const r = await request(listener.port, 'GET', '/terms');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(String(TERMS.body))));
    assert.equal(r.body, TERMS.body);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assertSecurityHeaders(r.headers);
    assert.match(String(r.headers['content-security-policy']), /style-src 'sha256-abc='/);
    assert.doesNotMatch(String(r.headers['content-security-policy']), /unsafe/);
  });

  it('asks the page source on every request, ignoring the query', async () => {
    const a = await request(listener.port, 'GET', '/privacy.txt?lang=en');
    assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(a.body, 'privacy v1\n');
    assert.doesNotMatch(String(a.headers['content-security-policy']), /style-src/);
    version = 2;
    assert.equal((await request(listener.port, 'GET', '/privacy.txt')).body, 'privacy v2\n');
  });

  it('HEAD: the GET headers, no body', async () => {
    const get = await request(listener.port, 'GET', '/terms');
    const head = await request(listener.port, 'HEAD', '/terms');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], get.headers['content-length']);
    assert.equal(head.headers['content-type'], get.headers['content-type']);
    assertSecurityHeaders(head.headers);
  });

  it('404 for other paths, with the security headers', async () => {
    for (const path of ['/', '/terms/', '/Terms', '/%74erms', '/../terms', '/favicon.ico']) {
      const r = await request(listener.port, 'GET', path);
      assert.equal(r.status, path === '/../terms' ? 200 : 404, path); // URL parsing resolves dot segments
      assertSecurityHeaders(r.headers);
    }
  });

  it('405 with Allow for other methods', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await request(listener.port, method, '/terms');
      assert.equal(r.status, 405, method);
      assert.equal(r.headers['allow'], 'GET, HEAD');
      assertSecurityHeaders(r.headers);
    }
  });

  it('a failing page source answers 500 without details', async () => {
    const r = await request(listener.port, 'GET', '/broken');
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.body, /secret/);
    assert.equal(errors.length, 1);
  });

  it('malformed requests get 400 and the connection closed', async () => {
    const reply = await raw(listener.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
  });

  it('CONNECT gets a 405 like any other method, not a silently dropped connection (found by npm run fuzz)', async () => {
    const reply = await raw(listener.port, 'CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 405 /);
    assert.match(reply, /\r\nAllow: GET, HEAD\r\n/);
    assert.match(reply, /\r\nX-Content-Type-Options: nosniff\r\n/);
    assert.equal((await request(listener.port, 'GET', '/terms')).status, 200);
  });

  it('more than one Host line is a 400 (RFC 9112 §3.2)', async () => {
    const reply = await raw(listener.port, 'GET /terms HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(await raw(listener.port, 'GET /terms HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
  });

  it('admit() sees the peer address and refuses before anything is read', async () => {
    admitted.length = 0;
    await request(listener.port, 'GET', '/terms');
    assert.deepEqual(admitted, ['127.0.0.1']);
    blocked = true;
    try {
      const reply = await raw(listener.port, 'GET /terms HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(reply, '');
      await assert.rejects(request(listener.port, 'GET', '/terms'));
    } finally {
      blocked = false;
    }
    assert.equal((await request(listener.port, 'GET', '/terms')).status, 200);
  });
});

describe('HTTPS listener', () => {
  let listener: Listener;
  let ca: string;
  let blocked = false;

  before(async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
    } as Parameters<typeof generate>[1]);
    ca = pems.cert;
    const options = { cert: pems.cert, key: pems.private, minVersion: 'TLSv1.2' as const };
    listener = await listenHttp(
      { port: 0, address: '127.0.0.1', tls: { options, secureContext: tls.createSecureContext(options) } },
      () => !blocked,
      (path) => (path === '/terms' ? TERMS : undefined),
    );
  });
  after(() => listener.close());

  it('serves the pages over TLS', async () => {
    const r = await request(listener.port, 'GET', '/terms', { ca });
    assert.equal(r.status, 200);
    assert.equal(r.body, TERMS.body);
    assertSecurityHeaders(r.headers);
  });

  it('refuses a blocked peer before the TLS handshake', async () => {
    blocked = true;
    try {
      const reply = await raw(listener.port, '\x16\x03\x01\x00\x05hello');
      assert.equal(reply, '');
      await assert.rejects(request(listener.port, 'GET', '/terms', { ca }));
    } finally {
      blocked = false;
    }
  });
});

describe('HTTP listener serving the policy pages', () => {
  it('serves /privacy from the current facts, with a CSP that allows exactly its inline style', async () => {
    const config = parseConfigText('', '/srv/jabberx', { knownModules: ['offline'], defaultModules: ['offline'] });
    let offlineDays = 7;
    const facts = () =>
      stampPolicy(
        derivePolicyFacts(config, {
          retentionRules: [{ name: 'offline messages', host: 'localhost', maxAgeMs: offlineDays * 86_400_000 }],
          encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: true },
          blockRules: 0,
          debug: { active: false },
        }, moduleRegistry),
        undefined,
      ).facts;
    const listener = await listenHttp({ port: 0, address: '127.0.0.1' }, () => true, (path) => policyPage(path, facts()));
    try {
      const html = await request(listener.port, 'GET', '/privacy');
      assert.equal(html.status, 200);
      assert.match(html.body, /Offline messages: deleted once older than 7 days\./);
      const css = /<style>([^<]*)<\/style>/.exec(html.body)?.[1] ?? '';
      const hash = `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
      assert.match(String(html.headers['content-security-policy']), new RegExp(`style-src ${hash.replace(/[+/]/g, '\\$&')}`));
      offlineDays = 3;
      const text = await request(listener.port, 'GET', '/privacy.txt');
      assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
      assert.match(text.body, /Offline messages: deleted once older than 3 days\./);
      assert.equal((await request(listener.port, 'GET', '/terms.txt')).status, 200);
      assert.equal((await request(listener.port, 'HEAD', '/terms')).status, 200);
    } finally {
      await listener.close();
    }
  });
});
