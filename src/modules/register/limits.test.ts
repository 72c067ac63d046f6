import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, rangeKey, RegistrationLimits } from './limits.ts';

test('address and range keys: IPv4 /24, IPv6 /64 and /48, mapped IPv4', () => {
  assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
  assert.equal(rangeKey('127.0.0.2'), '127.0.0.0/24');
  assert.equal(rangeKey('::ffff:10.1.2.3'), '10.1.2.0/24');
  assert.equal(addressKey('2001:db8:1:2:3::4'), '2001:db8:1:2::/64');
  assert.equal(rangeKey('2001:db8:1:2:3::4'), '2001:db8:1::/48');
});

test('limits per address and per range, forgotten after the window, bounded', () => {
  const l = new RegistrationLimits({ windowMs: 1000, maxPerAddress: 2, maxPerRange: 3, maxEntries: 4 });
  l.count('10.0.0.1', 0);
  assert.equal(l.check('10.0.0.1', 1), undefined);
  l.count('10.0.0.1', 1);
  assert.equal(l.check('10.0.0.1', 2), 'address');
  assert.equal(l.check('10.0.0.2', 2), undefined);
  l.count('10.0.0.2', 2);
  assert.equal(l.check('10.0.0.3', 3), 'range');
  assert.equal(l.check('10.0.0.1', 1001), undefined);
  for (let i = 0; i < 10; i++) l.count(`10.0.${i}.1`, 5);
  assert.ok(l.size <= 4);
});
