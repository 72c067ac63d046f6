import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedLru } from './bounded-lru.ts';

describe('BoundedLru', () => {
  it('keeps at most its limit, dropping the least recently used first', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('a'), 1); // 'a' refreshed: 'b' is now the oldest
    lru.set('c', 3);
    assert.equal(lru.size, 2);
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.get('c'), 3);
    lru.set('a', 4); // replacing keeps one entry
    assert.equal(lru.size, 2);
    lru.delete('a');
    assert.equal(lru.get('a'), undefined);
  });
});
