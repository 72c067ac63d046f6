// Tests for the HT mechanism helpers (draft-schmaus-kitten-sasl-ht-08 §3, RFC 2104 §2 key hashing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { htMechanisms, initiatorHash, initiatorMatches, newToken, parseHtMechanism, parseInitiatorMessage, responderHash, tokenKey } from './sasl-ht.ts';

test('RFC 2104 §2: a token longer than the block keys HMAC exactly as its SHA-256 does, so only the hash is stored', () => {
  const token = newToken();
  assert.ok(Buffer.byteLength(token) > 64);
  const cb = Buffer.from('channel binding data');
  // What a client computes, keyed by the token string itself (as xmpp.js, Conversations and Monal do).
  const byClient = createHmac('sha256', token).update('Initiator').update(cb).digest();
  assert.deepEqual(initiatorHash(tokenKey(token), cb), byClient);
  assert.deepEqual(responderHash(tokenKey(token), cb), createHmac('sha256', token).update('Responder').update(cb).digest());
  assert.ok(initiatorMatches(tokenKey(token), cb, byClient));
  assert.ok(!initiatorMatches(tokenKey(token), Buffer.from('other channel'), byClient));
  assert.ok(!initiatorMatches(tokenKey(newToken()), cb, byClient));
});

test('short tokens cannot be kept as hashes', () => {
  assert.throws(() => tokenKey('x'.repeat(64)), RangeError);
});

test('mechanism names: NONE always, the channel-bound ones for the types this connection has, strongest first', () => {
  assert.deepEqual(htMechanisms([]), ['HT-SHA-256-NONE']);
  assert.deepEqual(htMechanisms(['tls-server-end-point', 'tls-exporter']), ['HT-SHA-256-EXPR', 'HT-SHA-256-ENDP', 'HT-SHA-256-NONE']);
  assert.equal(parseHtMechanism('HT-SHA-256-EXPR'), 'tls-exporter');
  assert.equal(parseHtMechanism('HT-SHA-256-UNIQ'), 'tls-unique');
  assert.equal(parseHtMechanism('HT-SHA-256-NONE'), 'none');
  for (const bad of ['HT-SHA-512-NONE', 'HT-SHA-256-', 'HT-SHA-256-XXXX', 'SCRAM-SHA-256', 'ht-sha-256-none']) assert.equal(parseHtMechanism(bad), undefined, bad);
});

test('draft §3.1: initiator-msg = authcid NUL hash; the hash may contain NULs; anything else is malformed', () => {
  const hash = Buffer.alloc(32, 0);
  hash[5] = 7;
  const ok = parseInitiatorMessage(Buffer.concat([Buffer.from('jürgen'), Buffer.from([0]), hash]));
  assert.deepEqual(ok, { authcid: 'jürgen', hash });
  assert.equal(parseInitiatorMessage(Buffer.concat([Buffer.from([0]), hash])), undefined, 'empty authcid');
  assert.equal(parseInitiatorMessage(Buffer.from('alice')), undefined, 'no NUL');
  assert.equal(parseInitiatorMessage(Buffer.concat([Buffer.from('alice\0'), hash.subarray(0, 31)])), undefined, 'short hash');
  assert.equal(parseInitiatorMessage(Buffer.concat([Buffer.from([0xff, 0xfe, 0]), hash])), undefined, 'not UTF-8');
  assert.equal(parseInitiatorMessage(Buffer.concat([Buffer.alloc(2000, 0x61), Buffer.from([0]), hash])), undefined, 'oversized authcid');
});
