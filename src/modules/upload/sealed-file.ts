// Uploaded files at rest: streaming AES-256-GCM (NIST SP 800-38D) in chunks of 64 KiB, one key
// per file. Each chunk has its own nonce (the file's random base XOR the chunk index) and its
// index plus a final flag in the associated data, so chunks can't be reordered, dropped, or the
// file cut short unnoticed; a range decrypts only the chunks it covers. Nothing is ever written in
// clear: the plaintext exists only in memory, one chunk at a time.
//
//   magic 'JXU1' (4) | nonce base (12) | chunk 0 | chunk 1 | …   each chunk: ciphertext | tag (16)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';

export const CHUNK = 64 * 1024;
const MAGIC = Buffer.from('JXU1', 'latin1');
const NONCE_LEN = 12;
const TAG_LEN = 16;
const HEADER_LEN = MAGIC.length + NONCE_LEN;

/** The body did not have the announced size, or the file on disk does not open (altered, cut). */
export class SealedFileError extends Error {}

function nonceFor(base: Buffer, index: number): Buffer {
  const n = Buffer.from(base);
  const low = n.readUInt32BE(8) ^ index % 0x1_0000_0000;
  n.writeUInt32BE(low >>> 0, 8);
  const high = n.readUInt32BE(4) ^ Math.floor(index / 0x1_0000_0000);
  n.writeUInt32BE(high >>> 0, 4);
  return n;
}

function aadFor(index: number, final: boolean): Buffer {
  const a = Buffer.alloc(13);
  MAGIC.copy(a, 0);
  a.writeUIntBE(index, 4, 6);
  a[12] = final ? 1 : 0;
  return a;
}

/** Chunks of a file of `size` bytes: at least one (an empty file has one empty, final chunk). */
function lastChunk(size: number): number {
  return size === 0 ? 0 : Math.ceil(size / CHUNK) - 1;
}

/**
 * Reads exactly `size` bytes from `body` and writes them sealed under `key` to `path` (a new
 * file, mode 0600). Throws SealedFileError (and removes the file) when the body is longer or
 * shorter; only one chunk is held in memory at a time.
 */
export async function writeSealed(path: string, key: Buffer, size: number, body: AsyncIterable<Buffer>): Promise<void> {
  const base = randomBytes(NONCE_LEN);
  const fh = await open(path, 'wx', 0o600);
  let ok = false;
  try {
    await fh.write(Buffer.concat([MAGIC, base]));
    const last = lastChunk(size);
    let index = 0;
    let received = 0;
    let pending: Buffer[] = [];
    let pendingLen = 0;
    const flush = async (plain: Buffer): Promise<void> => {
      const final = index === last;
      const cipher = createCipheriv('aes-256-gcm', key, nonceFor(base, index), { authTagLength: TAG_LEN });
      cipher.setAAD(aadFor(index, final));
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      plain.fill(0);
      await fh.write(body);
      index++;
    };
    for await (const piece of body) {
      received += piece.length;
      if (received > size) throw new SealedFileError('the body is longer than announced');
      pending.push(piece);
      pendingLen += piece.length;
      while (pendingLen >= CHUNK && index < last) {
        const all = Buffer.concat(pending);
        await flush(all.subarray(0, CHUNK));
        pending = [all.subarray(CHUNK)];
        pendingLen -= CHUNK;
      }
    }
    if (received !== size) throw new SealedFileError('the body is shorter than announced');
    await flush(Buffer.concat(pending));
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(path, { force: true });
  }
}

/** The plaintext bytes start..end (inclusive) of a sealed file of `size` bytes, chunk by chunk. */
export async function* readSealed(path: string, key: Buffer, size: number, start: number, end: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(HEADER_LEN);
    const { bytesRead } = await fh.read(head, 0, HEADER_LEN, 0);
    if (bytesRead !== HEADER_LEN || !head.subarray(0, MAGIC.length).equals(MAGIC)) throw new SealedFileError('not a sealed upload');
    const base = head.subarray(MAGIC.length);
    const last = lastChunk(size);
    if (size === 0 || end < start) return;
    const buf = Buffer.alloc(CHUNK + TAG_LEN);
    for (let index = Math.floor(start / CHUNK); index <= Math.floor(end / CHUNK); index++) {
      const plainLen = index === last ? size - index * CHUNK : CHUNK;
      const { bytesRead: got } = await fh.read(buf, 0, plainLen + TAG_LEN, HEADER_LEN + index * (CHUNK + TAG_LEN));
      if (got !== plainLen + TAG_LEN) throw new SealedFileError('the sealed upload is cut short');
      const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(base, index), { authTagLength: TAG_LEN });
      decipher.setAAD(aadFor(index, index === last));
      decipher.setAuthTag(buf.subarray(plainLen, plainLen + TAG_LEN));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(buf.subarray(0, plainLen)), decipher.final()]);
      } catch {
        throw new SealedFileError('the sealed upload was altered');
      }
      const from = index === Math.floor(start / CHUNK) ? start - index * CHUNK : 0;
      const to = index === Math.floor(end / CHUNK) ? end - index * CHUNK + 1 : plainLen;
      yield plain.subarray(from, to);
    }
  } finally {
    await fh.close();
  }
}
