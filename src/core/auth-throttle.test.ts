import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle, addressKey } from './auth-throttle.ts';

const opts = { windowMs: 60_000, delayAfter: 3, maxPerAddress: 10, maxPerAccount: 30 };

describe('brute-force throttle', () => {
  it('delays after a few failures, refuses after the maximum, forgets after the window', () => {
    const t = new AuthThrottle(opts);
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) t.failed('192.0.2.1', 'alice@x', now);
    assert.deepEqual(t.check('192.0.2.1', now), { refuse: false, delayMs: 250 });
    for (let i = 3; i < 10; i++) t.failed('192.0.2.1', 'alice@x', now);
    assert.deepEqual(t.check('192.0.2.1', now), { refuse: true });
    assert.deepEqual(t.check('192.0.2.2', now), { refuse: false, delayMs: 0 }, 'another address is unaffected');
    assert.deepEqual(t.check('192.0.2.1', now + 60_001), { refuse: false, delayMs: 0 });
    t.sweep(now + 60_001);
    assert.deepEqual(t.size, { addresses: 0, accounts: 0 });
    t.stop();
  });

  it('locks an attacked account only for addresses that have failed', () => {
    const t = new AuthThrottle(opts);
    for (let i = 0; i < 30; i++) t.failed(`198.51.100.${i}`, 'bob@x', 5);
    assert.equal(t.accountLocked('bob@x', '198.51.100.7', 5), true);
    assert.equal(t.accountLocked('bob@x', '203.0.113.9', 5), false);
    assert.equal(t.accountLocked('carol@x', '198.51.100.7', 5), false);
    t.stop();
  });

  it('counts IPv6 peers per /64 and IPv4-mapped addresses as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.5'), '192.0.2.5');
    assert.equal(addressKey(undefined), '?');
  });

  it('issue 7: a channel-binding failure counts against the account only, never the address', () => {
    const t = new AuthThrottle(opts);
    for (let i = 0; i < 50; i++) t.failedAccount('carol@x', 7);
    assert.deepEqual(t.check('192.0.2.9', 7), { refuse: false, delayMs: 0 });
    assert.equal(t.accountLocked('carol@x', '192.0.2.9', 7), false, 'the address has not failed');
    assert.deepEqual(t.size, { addresses: 0, accounts: 1 });
    t.stop();
  });
});
