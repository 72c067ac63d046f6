import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockRuleError, IpBlocks } from './ip-blocks.ts';

describe('IP blocks', () => {
  it('matches single addresses and IPv4/IPv6 ranges, including IPv4-mapped peers', () => {
    const b = new IpBlocks(['203.0.113.0/24', '198.51.100.7', '2001:db8::/32']);
    assert.equal(b.isBlocked('203.0.113.200'), true);
    assert.equal(b.isBlocked('::ffff:203.0.113.9'), true);
    assert.equal(b.isBlocked('203.0.114.1'), false);
    assert.equal(b.isBlocked('198.51.100.7'), true);
    assert.equal(b.isBlocked('198.51.100.8'), false);
    assert.equal(b.isBlocked('2001:db8:ffff::1'), true);
    assert.equal(b.isBlocked('2001:db9::1'), false);
    assert.equal(b.isBlocked(undefined), false);
  });

  it('adds, lists and removes rules', () => {
    const b = new IpBlocks();
    assert.equal(b.add('127.0.0.2/32'), true);
    assert.equal(b.add('127.0.0.2'), false, 'same rule');
    assert.deepEqual(b.list(), ['127.0.0.2/32']);
    assert.equal(b.isBlocked('127.0.0.2'), true);
    assert.equal(b.remove('127.0.0.2'), true);
    assert.equal(b.isBlocked('127.0.0.2'), false);
    assert.equal(b.remove('127.0.0.2'), false);
  });

  it('refuses what is not an address or range, with a readable message', () => {
    const b = new IpBlocks();
    assert.throws(() => b.add('example.org'), BlockRuleError);
    assert.throws(() => b.add('10.0.0.0/33'), /prefix length must be 0 to 32/);
    assert.throws(() => b.add('2001:db8::/129'), /0 to 128/);
  });
});
