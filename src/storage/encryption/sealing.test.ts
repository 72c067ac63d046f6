// Tests for the sealed value format (AES-256-GCM with the record identity as AAD).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { SEAL_OVERHEAD, SEAL_VERSION, SealError, seal, sealedKeyId, unseal } from './sealing.ts';

const key = createSecretKey(randomBytes(32));
const plain = Buffer.from('{"u":"alice","v":"hello"}');

describe('seal / unseal', () => {
  it('round-trips and records the version and data key id', () => {
    const sealed = seal(key, 7, plain, 'aad');
    assert.equal(sealed.length, plain.length + SEAL_OVERHEAD);
    assert.equal(sealed[0], SEAL_VERSION);
    assert.equal(sealedKeyId(sealed), 7);
    assert.deepEqual(unseal(key, sealed, 'aad'), plain);
    assert.equal(sealed.includes(plain), false);
    assert.deepEqual(unseal(key, seal(key, 0xffff_ffff, new Uint8Array(0), ''), ''), Buffer.alloc(0));
  });

  it('uses a fresh IV each time', () => {
    assert.notDeepEqual(seal(key, 1, plain, 'a'), seal(key, 1, plain, 'a'));
  });

  it('opens a value that is a view into a larger buffer', () => {
    const sealed = seal(key, 1, plain, 'a');
    const big = Buffer.concat([Buffer.from('xxxx'), sealed, Buffer.from('yy')]);
    assert.deepEqual(unseal(key, new Uint8Array(big.buffer, big.byteOffset + 4, sealed.length), 'a'), plain);
  });

  it('refuses another AAD, another key, and any altered byte', () => {
    const sealed = seal(key, 1, plain, 'keyval\u0000h\u0000alice\u0000s\u0000');
    assert.throws(() => unseal(key, sealed, 'keyval\u0000h\u0000mallory\u0000s\u0000'), SealError);
    assert.throws(() => unseal(createSecretKey(randomBytes(32)), sealed, 'keyval\u0000h\u0000alice\u0000s\u0000'), /failed authentication/);
    for (let i = 1; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      assert.throws(() => unseal(key, bad, 'keyval\u0000h\u0000alice\u0000s\u0000'), SealError, `byte ${i}`);
    }
  });

  it('refuses what is not a sealed value', () => {
    assert.throws(() => unseal(key, Buffer.from('{"plain":"json value"}'), 'a'), /not sealed in a format/);
    assert.throws(() => sealedKeyId(new Uint8Array(SEAL_OVERHEAD - 1)), SealError);
    const other = seal(key, 1, plain, 'a');
    other[0] = 2;
    assert.throws(() => unseal(key, other, 'a'), /not sealed in a format/);
  });

  it('refuses invalid key ids', () => {
    assert.throws(() => seal(key, -1, plain, 'a'), RangeError);
    assert.throws(() => seal(key, 2 ** 32, plain, 'a'), RangeError);
    assert.throws(() => seal(key, 1.5, plain, 'a'), RangeError);
  });
});
