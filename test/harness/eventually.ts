// Polls a value that settles asynchronously (e.g. a stored message deleted once the client's
// stream management acknowledges it) until it equals what is expected, or fails with the last.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

export async function eventually<T>(read: () => Promise<T> | T, expected: T, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!isEqual(last, expected) && Date.now() < deadline) {
    await sleep(50);
    last = await read();
  }
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
