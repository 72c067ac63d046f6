// Memory-only items stay within their node count and byte total.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { VolatileItems } from './volatile-items.ts';

const item = (text: string) => ({ payload: { name: 'x', attrs: {}, children: [text] }, publisher: 'a@b', published: '2026-01-01T00:00:00.000Z' });

it('keeps max items per node, and drops the least recently written nodes past the caps', () => {
  const v = new VolatileItems(3, 2000);
  for (const id of ['1', '2', '3']) v.put('s', 'n', id, item(id), 2);
  assert.deepEqual(v.ids('s', 'n'), ['2', '3']);
  for (const n of ['a', 'b', 'c']) v.put('s', n, 'i', item(n), 1);
  assert.deepEqual(v.ids('s', 'n'), [], 'the fourth node pushed out the oldest');
  v.put('t', 'big', 'i', item('x'.repeat(1800)), 1);
  assert.ok(v.bytes <= 2000, String(v.bytes));
  assert.ok(v.get('t', 'big', 'i'));
  v.clearService('t');
  assert.equal(v.get('t', 'big', 'i'), undefined);
  v.remove('s', 'c', 'i');
  v.clear('s', 'b');
  assert.equal(v.bytes, 0);
});
