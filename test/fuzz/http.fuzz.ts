// Fuzzing the HTTP listener (src/transports/http.ts) of a real server process over real sockets:
// random methods, request targets, versions, line endings, headers (duplicated, oversized, folded,
// conflicting framing) and bodies, written in random pieces, plus plain random bytes.
//
// Properties: every request (any input with a byte other than CR/LF) gets a status line with an
// expected code, and the connection is closed within the bound once the client half-closes; no 5xx;
// the process is still running afterwards and serves /privacy; nothing of the requests reaches the
// logs (the listener keeps no access log).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { startServer, type TestServer } from '../harness/server.ts';
import { report, runInline } from './lib/runner.ts';

interface Req {
  method: string;
  target: string;
  version: string;
  eol: string;
  host: boolean;
  headers: [string, string][];
  body: Buffer;
  /** Where the bytes are cut into separate writes. */
  cuts: number[];
}

/** Marks every request, to check that none of it is logged. */
const MARK = `fz${randomBytes(6).toString('hex')}`;

const token = fc.string({ unit: fc.constantFrom(...'abcxyzABC019!#$%&*+-.^_`|~'.split('')), minLength: 1, maxLength: 10 });
const anyText = fc.string({ unit: 'binary', maxLength: 12 });
const longText = fc.integer({ min: 4000, max: 12000 }).map((n) => 'a'.repeat(n));

const methodArb = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom('GET', 'HEAD') },
  { weight: 4, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'M-SEARCH', 'PROPFIND', 'QUERY', 'get', 'GET ', 'G\0T', '') },
  { weight: 1, arbitrary: token },
  { weight: 1, arbitrary: anyText },
);
const targetArb = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom('/terms', '/privacy', '/terms.txt', '/privacy.txt', '/', '/nope', `/${MARK}`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '*', '/%', '/%zz', '/%00', '/..%2f..%2fetc/passwd', '//x', '/?a=b', '/#f', '/privacy?x=%ff', 'http://localhost/privacy',
      'https://[::1]:99/x', 'http://[::1', 'localhost:80', '/terms/../privacy', '/\u00e9', '/\t', '/ /', '/\x7f', '',
    ),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/', '', 'http://h/'), anyText).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: longText.map((s) => `/${s}`) },
);
const versionArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9.9', 'http/1.1', '', 'HTTP/1.1 x', 'HTTP/') },
);
const headerName = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.constantFrom(
      'Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Expect', 'Upgrade', 'Range', 'If-None-Match', 'Cookie',
      'Accept', 'Accept-Encoding', 'Authorization', 'X-Forwarded-For', 'Content-Type', 'Trailer', 'TE', 'Proxy-Connection', 'Keep-Alive',
    ),
  },
  { weight: 1, arbitrary: token },
);
const headerValue = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(
      '0', '5', '-1', '99999999999999999999', '1, 2', 'chunked', 'gzip, chunked', 'chunked, gzip', 'identity', 'close', 'keep-alive',
      'Upgrade', 'websocket', 'h2c', '100-continue', 'bytes=0-1', 'localhost', '', ' ', 'a\r\n b', MARK,
    ),
  },
  { weight: 3, arbitrary: token },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: longText.map((s) => s.slice(0, 3000)) },
);
const bodyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', 'ffffffffffffffff\r\nx', '0\r\nX: y\r\n\r\n', 'GET /terms HTTP/1.1\r\nHost: x\r\n\r\n', 'x')
      .map((s) => Buffer.from(s)),
  },
);

const requestArb: fc.Arbitrary<Req> = fc.record({
  method: methodArb,
  target: targetArb,
  version: versionArb,
  eol: fc.oneof({ weight: 20, arbitrary: fc.constant('\r\n') }, fc.constantFrom('\n', '\r', '\r\r\n')),
  host: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)),
  headers: fc.oneof(fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }), fc.array(fc.tuple(fc.oneof(headerName, anyText), fc.oneof(headerValue, anyText)), { maxLength: 3 })),
  body: bodyArb,
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
});

function encode(r: Req): Buffer {
  const lines = [[r.method, r.target, r.version].filter((x) => x !== '').join(' ')];
  if (r.host) lines.push('Host: localhost');
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
  return Buffer.concat([Buffer.from(lines.join(r.eol) + r.eol + r.eol, 'utf8'), r.body]);
}

/** What the server may answer (RFC 9110 §15); 5xx would mean the listener itself failed. */
const EXPECTED = new Set([100, 200, 400, 404, 405, 408, 413, 414, 417, 431, 505]);

/** Writes `data` in pieces, half-closes, and collects the reply until the server closes (or `ms` passes). */
function exchange(port: number, data: Buffer, cuts: number[], ms: number): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => finish(true)); // a reset after the reply counts as closed
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let from = 0;
      for (const p of points) {
        pieces.push(data.subarray(from, p));
        from = p;
      }
      pieces.push(data.subarray(from));
      const next = (): void => {
        if (done) return;
        const piece = pieces.shift();
        if (piece === undefined) {
          socket.end();
          return;
        }
        socket.write(piece, () => setImmediate(next));
      };
      next();
    });
  });
}

const BOUND_MS = 4000;
const FILE = 'test/fuzz/http.fuzz.ts';

void describe('http.fuzz.ts', () => {
  let server: TestServer;
  let port = 0;

  before(async () => {
    server = await startServer({
      config: {
        listeners: [
          { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
          { type: 'http', port: 0, address: '127.0.0.1' },
        ],
      },
    });
    port = (server.ports as unknown as Record<string, number>)['http'] ?? 0;
    assert.ok(port > 0, 'no http port');
  });
  after(() => server.remove());

  /** First status code of each reply (0: none), shown after each target. */
  const statuses = new Map<number, number>();
  const histogram = (): string =>
    [...statuses].sort(([a], [b]) => a - b).map(([code, n]) => `${code === 0 ? 'none' : String(code)}×${String(n)}`).join(', ');

  async function check(data: Buffer, cuts: number[]): Promise<void> {
    const { reply, closed } = await exchange(port, data, cuts, BOUND_MS);
    const first = Number(/^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1] ?? 0);
    statuses.set(first, (statuses.get(first) ?? 0) + 1);
    if (/[^\r\n]/.test(data.toString('latin1'))) {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(reply);
      assert.ok(m, `no status line for ${JSON.stringify(data.toString('latin1').slice(0, 300))}; got ${JSON.stringify(reply.slice(0, 200))}`);
      for (const [, code] of reply.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)) {
        assert.ok(EXPECTED.has(Number(code)), `unexpected status ${String(code)} for ${JSON.stringify(data.toString('latin1').slice(0, 300))}`);
      }
    }
    assert.ok(closed, `connection still open ${String(BOUND_MS)} ms after the client closed its side`);
    assert.equal(server.process.exitCode, null, 'the server process exited');
  }

  void it('random requests', async (t) => {
    report(t, await runInline('random requests', {
      runs: 10_000,
      timeoutMs: BOUND_MS + 2000,
      arbitrary: () => requestArb,
      check: (r) => check(encode(r), r.cuts),
    }), FILE);
    t.diagnostic(`first status of each reply: ${histogram()}`);
    statuses.clear();
  });

  void it('random bytes', async (t) => {
    report(t, await runInline('random bytes', {
      runs: 2_000,
      timeoutMs: BOUND_MS + 2000,
      arbitrary: () => fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((a) => Buffer.from(a)), fc.array(fc.nat(), { maxLength: 3 })),
      check: ([data, cuts]) => check(data, cuts),
    }), FILE);
    t.diagnostic(`first status of each reply: ${histogram()}`);
  });

  void it('afterwards the server still runs, serves /privacy, and logged none of it', async () => {
    assert.equal(server.process.exitCode, null);
    assert.equal(server.process.signalCode, null);
    const res = await fetch(`http://127.0.0.1:${String(port)}/privacy`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<html/i);
    assert.ok(!server.logs().includes(MARK), 'request data reached the logs');
  });
});
