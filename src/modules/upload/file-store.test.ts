// The file store: records and sealed files together, and the sweep of files no record names.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptedBackend } from '../../storage/encrypted.ts';
import { MemoryBackend } from '../../storage/memory.ts';
import { FileStore, type OwnedFile, type StoredFile } from './file-store.ts';

async function* pieces(data: Buffer, step: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += step) yield data.subarray(i, i + step);
}

it('sweeps files no record names once they are older than an upload can take', async () => {
  const db = new EncryptedBackend({ backend: new MemoryBackend(), masterKey: randomBytes(32) });
  await db.open();
  const folder = mkdtempSync(join(tmpdir(), 'file-store-'));
  const keys = {
    newKey: (c: string) => { const key = randomBytes(32); return { key: Buffer.from(key), wrapped: db.wrapKey(key, c) }; },
    openKey: (w: string, c: string) => db.unwrapKey(w, c),
  };
  const files = new FileStore(folder, db.keyval<StoredFile>('h.example', 'upload-links'), db.map<OwnedFile>('h.example', 'uploads'), keys);
  await files.add('tok', { owner: 'alice', name: 'a.txt', size: 3, type: 'text/plain' }, pieces(Buffer.from('abc'), 3));
  writeFileSync(join(folder, 'orphan-old'), 'x');
  writeFileSync(join(folder, 'orphan-new'), 'x');
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(folder, 'orphan-old'), old, old);
  for (const f of readdirSync(folder)) if (f.length === 32) utimesSync(join(folder, f), old, old);
  assert.equal(await files.sweepOrphans(60_000), 1);
  assert.ok(!existsSync(join(folder, 'orphan-old')) && existsSync(join(folder, 'orphan-new')));
  const file = await files.get('tok');
  assert.ok(file);
  const out: Buffer[] = [];
  for await (const b of files.read(file, 0, 2)) out.push(Buffer.from(b));
  assert.equal(Buffer.concat(out).toString(), 'abc');
  await db.close();
});
