// Tests for SASL PLAIN parsing (RFC 4616 §2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlain } from './sasl-plain.ts';

test('parses authcid and password, with and without authzid', () => {
  assert.deepEqual(parsePlain(Buffer.from('\0tim\0tanstaaftanstaaf')), { username: 'tim', password: 'tanstaaftanstaaf' });
  assert.deepEqual(parsePlain(Buffer.from('Ursel\0Kurt\0xipj3plmq')), { username: 'Kurt', password: 'xipj3plmq', authzid: 'Ursel' });
  assert.deepEqual(parsePlain(Buffer.from('\0jürgen\0pässwörd')), { username: 'jürgen', password: 'pässwörd' });
});

test('rejects malformed messages without throwing', () => {
  const bad = [
    Buffer.alloc(0),
    Buffer.from('user\0pass'),
    Buffer.from('\0\0pass'),
    Buffer.from('\0user\0'),
    Buffer.from('\0user\0pa\0ss'),
    Buffer.from([0, 0x75, 0, 0xff, 0xfe]),
    Buffer.from('\0user\0' + 'p'.repeat(2000)),
  ];
  for (const msg of bad) {
    const r = parsePlain(msg);
    assert.ok('failure' in r, JSON.stringify(msg.toString()));
    assert.equal(r.failure.condition, 'malformed-request');
  }
});
