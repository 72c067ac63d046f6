// Waiting for what settles asynchronously (a file written, a port freed, a stored message deleted
// once the client's stream management acknowledges it), polling rather than sleeping a fixed time.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` until it is true; throws "timed out waiting for <what>" after timeoutMs. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Polls `read` until it equals `expected`; fails with the last value read after timeoutMs. */
export async function eventually<T>(read: () => Promise<T> | T, expected: T, what: string, timeoutMs = 5000): Promise<void> {
  let last = await read();
  await until(what, async () => isEqual((last = await read()), expected), timeoutMs).catch(() => undefined);
  assert.deepEqual(last, expected, what);
}

function isEqual<T>(a: T, b: T): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
