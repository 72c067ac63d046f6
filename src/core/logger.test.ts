import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafeSink, createLogger, droppedLogLines, scrubAddresses } from './logger.ts';

describe('logger privacy', () => {
  it('masks IPv4 and IPv6 addresses in text', () => {
    assert.equal(scrubAddresses('connect ECONNREFUSED 203.0.113.7:5222'), 'connect ECONNREFUSED [address]:5222');
    const v6 = scrubAddresses('peer ::ffff:198.51.100.2 and 2001:db8::1 and ::1 end');
    for (const bad of ['198.51', '2001:db8', '::1 ']) assert.ok(!v6.includes(bad), v6);
    assert.match(v6, /^peer .*\[address\].* end$/);
    assert.equal(scrubAddresses('at file.ts:12:34 version 1.2.3'), 'at file.ts:12:34 version 1.2.3');
  });

  it('scrubs errors and redacts address and secret fields', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jx-log-'));
    const file = join(dir, 'x.log');
    const log = createLogger({ level: 'info', file });
    log.error({ err: new Error('read ECONNRESET from 192.0.2.44'), peerAddress: '192.0.2.45', password: 'hunter2', body: 'secret words' }, 'oops');
    log.flush();
    await new Promise((r) => setTimeout(r, 200));
    const text = readFileSync(file, 'utf8');
    assert.match(text, /oops/);
    for (const bad of ['192.0.2.44', '192.0.2.45', 'hunter2', 'secret words']) assert.ok(!text.includes(bad), bad);
  });
});

describe('log sinks that fail', () => {
  it('a full disk (/dev/full): logging never throws; lines are dropped and counted', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async () => {
    const before = droppedLogLines();
    const log = createLogger({ level: 'info', file: '/dev/full' });
    for (let i = 0; i < 50; i++) log.info({ i }, 'line');
    await new Promise((r) => setTimeout(r, 200));
    // Written after the failure, within the retry pause: dropped at once.
    log.info('one more');
    assert.ok(droppedLogLines() - before >= 51, `dropped ${droppedLogLines() - before}`);
  });

  it('writes and flushes a file; an unopenable file falls back to standard error instead of throwing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jx-log-'));
    const file = join(dir, 'ok.log');
    const sink = new SafeSink(file);
    sink.write('{"msg":"first"}\n');
    sink.flushSync();
    await new Promise((r) => setTimeout(r, 100));
    assert.match(readFileSync(file, 'utf8'), /first/);
    sink.end();
    // A path under a regular file can't be created: the sink writes to stderr instead of throwing.
    const fallback = new SafeSink(join(file, 'not-a-dir', 'x.log'));
    fallback.end();
  });
});
