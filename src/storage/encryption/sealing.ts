// Sealed value format for encryption at rest: AES-256-GCM (NIST SP 800-38D) with a random
// 96-bit IV and the record's identity as additional authenticated data.
//
//   version (1 byte) | data key id (uint32, big-endian) | IV (12 bytes) | ciphertext | tag (16 bytes)
//
// The header (version and key id) is authenticated too, so neither can be altered without the
// tag failing; the key id tells which data key of the keyring opens the value, so old data keys
// keep working for reading after a rotation.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

export const SEAL_VERSION = 1;
const HEADER_LEN = 5;
const IV_LEN = 12;
const TAG_LEN = 16;
/** Bytes a sealed value adds to its plaintext. */
export const SEAL_OVERHEAD = HEADER_LEN + IV_LEN + TAG_LEN;
const MAX_KEY_ID = 0xffff_ffff;

/** A stored value could not be opened: it was altered, moved to another record, or is not sealed. */
export class SealError extends Error {
  override name = 'SealError';
}

/** The value names a data key this keyring does not hold (e.g. another process added it). */
export class UnknownDataKeyError extends SealError {
  override name = 'UnknownDataKeyError';
  /** Not a damaged value (yet): the storage layer reloads the keyring and reads again first. */
  readonly keyId: number;

  constructor(keyId: number) {
    super(`storage: the value is sealed with data key ${keyId}, which the keyring does not hold`);
    this.keyId = keyId;
  }
}

function header(keyId: number): Buffer {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > MAX_KEY_ID) throw new RangeError('seal: invalid data key id');
  const h = Buffer.allocUnsafe(HEADER_LEN);
  h[0] = SEAL_VERSION;
  h.writeUInt32BE(keyId, 1);
  return h;
}

/** The authenticated data: the header, then the caller's context (the record identity). */
function fullAad(head: Uint8Array, aad: string): Buffer {
  return Buffer.concat([head, Buffer.from(aad, 'utf8')]);
}

/** Encrypts plain under key (AES-256), recording keyId; aad must be given again to open it. */
export function seal(key: KeyObject, keyId: number, plain: Uint8Array, aad: string): Buffer {
  const head = header(keyId);
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
  cipher.setAAD(fullAad(head, aad));
  const body = cipher.update(plain);
  const rest = cipher.final(); // empty for GCM, kept for form
  return Buffer.concat([head, iv, body, rest, cipher.getAuthTag()]);
}

/** The data key id a sealed value names, without opening it. */
export function sealedKeyId(sealed: Uint8Array): number {
  if (sealed.length < SEAL_OVERHEAD || sealed[0] !== SEAL_VERSION) {
    throw new SealError('storage: the stored value is not sealed in a format this JabberX knows (unencrypted data, or damaged)');
  }
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
}

/** Opens a sealed value; throws SealError if it was altered or sealed for another aad. */
export function unseal(key: KeyObject, sealed: Uint8Array, aad: string): Buffer {
  sealedKeyId(sealed); // format check
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const iv = buf.subarray(HEADER_LEN, HEADER_LEN + IV_LEN);
  const body = buf.subarray(HEADER_LEN + IV_LEN, buf.length - TAG_LEN);
  const tag = buf.subarray(buf.length - TAG_LEN);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
  decipher.setAAD(fullAad(buf.subarray(0, HEADER_LEN), aad));
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    // Never hand back unauthenticated plaintext: wipe it before failing.
    plain.fill(0);
    throw new SealError('storage: a stored value failed authentication: it was altered, or moved from another record');
  }
}
