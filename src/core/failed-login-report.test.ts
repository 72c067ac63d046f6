// What failed logins put into the logs: the main log names the account by a keyed hash (or by its
// address when the operator opts in) and never the peer address; the failed-login log gets one
// fixed-format line per wrong password with the address, and its purge keeps only recent lines.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { AuthThrottle } from './auth-throttle.ts';
import { FailedLoginReport, accountHash } from './failed-login-report.ts';
import { FailedLoginAddressLog, failedLoginLine } from './failed-login-address-log.ts';

const SECRET = Buffer.alloc(32, 7);
const opts = { windowMs: 60_000, delayAfter: 10, maxPerAddress: 2, maxPerAccount: 3 };

function capture(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const log = pino({ base: undefined, formatters: { level: (label) => ({ level: label }) } }, { write: (l: string) => out.push(l) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('failed-login report', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-failed-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names the account by a keyed hash, stable and secret-dependent, never the address', () => {
    const { log, lines } = capture();
    const t = new AuthThrottle(opts, new FailedLoginReport({ log, accountNames: false, secret: SECRET }));
    t.failed('198.51.100.4', 'alice@example.org');
    t.failed('198.51.100.4', 'alice@example.org');
    t.stop();
    const hash = accountHash(SECRET, 'alice@example.org');
    assert.match(hash, /^[0-9a-f]{12}$/);
    assert.notEqual(accountHash(Buffer.alloc(32, 8), 'alice@example.org'), hash, 'another installation, another hash');
    const text = JSON.stringify(lines());
    assert.doesNotMatch(text, /198\.51\.100\.4|alice@example\.org/);
    assert.deepEqual(lines().map((l) => [l['level'], l['msg'], l['accountHash'], l['failures']]), [
      ['info', 'failed login', hash, 1],
      ['info', 'failed login', hash, 2],
      ['warn', 'an address is refused after too many failed logins (jabberx throttle list shows it)', hash, 2],
    ]);
  });

  it('names the account by its address with log.account_names', () => {
    const { log, lines } = capture();
    const t = new AuthThrottle(opts, new FailedLoginReport({ log, accountNames: true, secret: SECRET }));
    for (let i = 0; i < 3; i++) t.failedAccount('bob@example.org');
    t.stop();
    assert.ok(lines().every((l) => l['account'] === 'bob@example.org' && l['accountHash'] === undefined));
    assert.equal(lines()[0]?.['reason'], 'channel-binding mismatch');
    assert.match(String(lines()[3]?.['msg']), /^account locked/);
  });

  it('writes one line per wrong password to the failed-login log (not for channel-binding mismatches)', () => {
    const file = join(dir, 'one', 'failed.log');
    const { log } = capture();
    const t = new AuthThrottle(opts, new FailedLoginReport({ log, accountNames: false, secret: SECRET, addressLog: new FailedLoginAddressLog(file) }));
    t.failed('::ffff:192.0.2.9', 'alice@example.org');
    t.failed('2001:db8::7', undefined);
    t.failedAccount('alice@example.org');
    t.stop();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z failed login from 192\.0\.2\.9$/);
    assert.match(lines[1] ?? '', /Z failed login from 2001:db8::7$/);
  });

  it('purges lines older than the cutoff, and anything that is not a line of its own', () => {
    const file = join(dir, 'purge.log');
    const now = Date.parse('2026-12-06T12:00:00Z');
    writeFileSync(file, [
      failedLoginLine('192.0.2.1', new Date(now - 3 * 3_600_000)),
      'garbage\n',
      failedLoginLine('192.0.2.2', new Date(now - 60_000)),
    ].join(''));
    const addressLog = new FailedLoginAddressLog(file);
    assert.equal(addressLog.purge(new Date(now - 3_600_000)), 2);
    assert.equal(readFileSync(file, 'utf8'), failedLoginLine('192.0.2.2', new Date(now - 60_000)));
    assert.equal(addressLog.purge(new Date(now - 3_600_000)), 0, 'nothing more to purge');
    assert.equal(new FailedLoginAddressLog(join(dir, 'absent.log')).purge(new Date(now)), 0);
  });
});
