// RFC 5802 §5: the SCRAM-SHA-1 example exchange, replayed through the bench's client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScramClient, deriveKeys, type ScramKeys } from './scram-client.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('RFC 5802 example: client-first, client-final with proof, server signature', () => {
  const cache = new Map<string, ScramKeys>();
  const c = new ScramClient('user', 'pencil', cache, 'fyko+d2lbbFgONRv9qkxdawL');
  assert.equal(Buffer.from(c.first(), 'base64').toString(), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
  const final = c.final(b64('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
  assert.equal(
    Buffer.from(final, 'base64').toString(),
    'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  );
  assert.equal(c.verify(b64('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')), true);
  assert.equal(c.verify(b64('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), false);
  assert.equal(cache.size, 1, 'the derived keys are cached for the next login');
});

test('a server nonce that does not extend the client nonce is refused', () => {
  const c = new ScramClient('user', 'pencil', undefined, 'abc');
  c.first();
  assert.throws(() => c.final(b64('r=xyz,s=QSXCR+Q6sek8bf92,i=4096')));
});

test('user names with = and , are escaped (RFC 5802 §5.1)', () => {
  const c = new ScramClient('a=b,c', 'x', undefined, 'n');
  assert.equal(Buffer.from(c.first(), 'base64').toString(), 'n,,n=a=3Db=2Cc,r=n');
});

test('deriveKeys gives the StoredKey a server stores', () => {
  const k = deriveKeys('pencil', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096);
  assert.equal(k.storedKey.length, 20);
  assert.equal(k.serverKey.length, 20);
});
