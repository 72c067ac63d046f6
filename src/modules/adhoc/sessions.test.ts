import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJid } from '../../core/jid.ts';
import { CommandSessions } from './sessions.ts';

const alice = parseJid('alice@example.org/phone');
const bob = parseJid('bob@example.org/pc');

describe('XEP-0050 command sessions', () => {
  it('an account at its limit loses its oldest session, which then reads as expired', () => {
    const s = new CommandSessions({ maxTotal: 10, maxPerAccount: 2, timeoutMs: 60_000 });
    const a1 = s.create(alice, 'n', null, 0);
    const a2 = s.create(alice, 'n', null, 1);
    const a3 = s.create(alice, 'n', null, 2);
    assert.ok(a1 && a2 && a3);
    assert.equal(s.find(a1.id, 3), 'expired');
    assert.equal(s.find(a2.id, 3), a2);
    assert.equal(s.size, 2);
  });

  it('the total is a hard limit: new sessions are refused until some end', () => {
    const s = new CommandSessions({ maxTotal: 2, maxPerAccount: 2, timeoutMs: 60_000 });
    const a = s.create(alice, 'n', null, 0);
    assert.ok(s.create(bob, 'n', null, 0));
    assert.equal(s.create(bob, 'n', null, 0), undefined);
    s.end(a?.id ?? '');
    assert.ok(s.create(bob, 'n', null, 0));
  });

  it('a session expires after the timeout unless touched; an ended one is unknown, not expired', () => {
    const s = new CommandSessions({ maxTotal: 10, maxPerAccount: 5, timeoutMs: 1000 });
    const a = s.create(alice, 'n', null, 0);
    const b = s.create(alice, 'n', null, 0);
    assert.ok(a && b);
    s.touch(b, 900);
    assert.equal(s.find(a.id, 1000), 'expired');
    assert.equal(s.find(b.id, 1000), b);
    s.end(b.id);
    assert.equal(s.find(b.id, 1001), undefined);
    assert.equal(s.find('never', 1001), undefined);
  });

  it('tombstones are bounded by the total and forgotten after an hour', () => {
    const s = new CommandSessions({ maxTotal: 2, maxPerAccount: 1, timeoutMs: 10 });
    const ids = [0, 1, 2].map((i) => s.create(alice, 'n', null, i * 100)?.id ?? '');
    assert.equal(s.find(ids[2] ?? '', 1000), 'expired');
    assert.equal(s.find(ids[0] ?? '', 1000), undefined, 'the oldest tombstone went');
    s.sweep(4_000_000);
    assert.equal(s.find(ids[2] ?? '', 4_000_000), undefined);
  });
});
