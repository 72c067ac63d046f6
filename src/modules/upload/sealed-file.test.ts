import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHUNK, SealedFileError, readSealed, writeSealed } from './sealed-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealed-file-'));

async function* pieces(data: Buffer, step: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += step) yield data.subarray(i, i + step);
}

async function read(path: string, key: Buffer, size: number, start: number, end: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of readSealed(path, key, size, start, end)) out.push(Buffer.from(b));
  return Buffer.concat(out);
}

it('round-trips files of every shape, with ranges across chunk borders, never in clear on disk', async () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17]) {
    const data = randomBytes(size);
    const key = randomBytes(32);
    const path = join(dir, `f${size}`);
    await writeSealed(path, key, size, pieces(data, 1000));
    if (size >= 16) assert.ok(!readFileSync(path).includes(data.subarray(0, 16)));
    assert.ok((await read(path, key, size, 0, size - 1)).equals(data));
    if (size > 2) assert.ok((await read(path, key, size, 1, size - 2)).equals(data.subarray(1, size - 1)));
    if (size > CHUNK + 1) assert.ok((await read(path, key, size, CHUNK - 1, CHUNK)).equals(data.subarray(CHUNK - 1, CHUNK + 1)));
  }
});

it('refuses a body of another size (and leaves no file), a wrong key, a cut or swapped file', async () => {
  const key = randomBytes(32);
  await assert.rejects(writeSealed(join(dir, 'long'), key, 10, pieces(randomBytes(11), 4)), SealedFileError);
  await assert.rejects(writeSealed(join(dir, 'short'), key, 10, pieces(randomBytes(9), 4)), SealedFileError);
  assert.ok(!existsSync(join(dir, 'long')) && !existsSync(join(dir, 'short')));

  const size = 2 * CHUNK + 5;
  const path = join(dir, 'three');
  await writeSealed(path, key, size, pieces(randomBytes(size), 4096));
  await assert.rejects(read(path, randomBytes(32), size, 0, size - 1), SealedFileError);
  const raw = readFileSync(path);
  const chunkLen = CHUNK + 16;
  // Chunks 0 and 1 swapped.
  const swapped = Buffer.concat([raw.subarray(0, 16), raw.subarray(16 + chunkLen, 16 + 2 * chunkLen), raw.subarray(16, 16 + chunkLen), raw.subarray(16 + 2 * chunkLen)]);
  writeFileSync(join(dir, 'swapped'), swapped);
  await assert.rejects(read(join(dir, 'swapped'), key, size, 0, size - 1), SealedFileError);
  // Cut after two full chunks, and read as a file of two chunks: the second is not the final one.
  writeFileSync(join(dir, 'cut'), raw.subarray(0, 16 + 2 * chunkLen));
  await assert.rejects(read(join(dir, 'cut'), key, 2 * CHUNK, 0, 2 * CHUNK - 1), SealedFileError);
});
