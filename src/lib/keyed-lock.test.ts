import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './keyed-lock.ts';

describe('KeyedLock', () => {
  it('runs work of one key in order, other keys alongside, and forgets idle keys', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const step = (key: string, n: number, ms: number) =>
      lock.run(key, async () => {
        log.push(`${key}${n}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${key}${n}-`);
        return n;
      });
    const results = await Promise.all([step('a', 1, 30), step('a', 2, 1), step('b', 1, 1)]);
    assert.deepEqual(results, [1, 2, 1]);
    assert.ok(log.indexOf('a1-') < log.indexOf('a2+'), log.join(' '));
    assert.ok(log.indexOf('b1-') < log.indexOf('a1-'), 'b does not wait for a');
    assert.equal(lock.size, 0);
  });

  it('keeps going after a failure', async () => {
    const lock = new KeyedLock();
    await assert.rejects(lock.run('k', () => Promise.reject(new Error('boom'))));
    assert.equal(await lock.run('k', () => Promise.resolve(7)), 7);
  });
});
