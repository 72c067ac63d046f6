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

describe('brute-force throttle: what the operator is told and can do', () => {
  it('tells its observer of each failure and of each lockout, once', () => {
    const events: string[] = [];
    const t = new AuthThrottle({ ...opts, maxPerAddress: 3, maxPerAccount: 4 }, {
      failed: (e) => events.push(`failed ${e.kind} ${e.account ?? '-'} ${e.accountFailures}`),
      addressLocked: (e) => events.push(`address ${e.address ?? '-'} ${e.failures}`),
      accountLocked: (e) => events.push(`account ${e.account} ${e.failures}`),
    });
    for (let i = 0; i < 4; i++) t.failed('192.0.2.1', 'alice@x', 1);
    t.failedAccount('alice@x', 1);
    assert.deepEqual(events, [
      'failed credentials alice@x 1', 'failed credentials alice@x 2',
      'failed credentials alice@x 3', 'address 192.0.2.1 3',
      'failed credentials alice@x 4', 'account alice@x 4',
      'failed channel-binding alice@x 5',
    ]);
    t.stop();
  });

  it('lists live records with their lock state, and clears an account or an address (IPv6: its /64)', () => {
    const t = new AuthThrottle({ ...opts, maxPerAddress: 2 });
    t.failed('2001:db8:1:2::5', 'bob@x', 10);
    t.failed('2001:db8:1:2::6', 'bob@x', 10);
    const { addresses, accounts } = t.entries(20);
    assert.deepEqual(addresses, [{ key: '2001:db8:1:2::/64', failures: 2, expires: 60_010, locked: true }]);
    assert.deepEqual(accounts, [{ key: 'bob@x', failures: 2, expires: 60_010, locked: false }]);
    assert.equal(t.clear({ address: '2001:db8:1:2::99' }), true, 'any address of the /64 names it');
    assert.equal(t.clear({ address: '2001:db8:1:2::99' }), false);
    assert.equal(t.clear({ account: 'bob@x' }), true);
    assert.deepEqual(t.entries(20), { addresses: [], accounts: [] });
    t.stop();
  });
});
