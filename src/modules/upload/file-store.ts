// The uploaded files: sealed bytes on disk under a random name (sealed-file.ts), and their
// metadata in the module's stores (sealed at rest like every store): by link token (what a
// download looks up) and by owner (the quota, and deletion with the account).
import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyValueStore, MapStore } from '../../core/storage.ts';
import { readSealed, writeSealed } from './sealed-file.ts';

export type StoredFile = {
  owner: string;
  name: string;
  size: number;
  type: string;
  /** ISO date of the upload. */
  created: string;
  /** The file's name in the folder: random, unrelated to the token, owner or name. */
  disk: string;
  /** The file's key, wrapped by the storage key hierarchy (ctx.sealedFiles). */
  key: string;
};

/** What the owner's list keeps per file: enough for the quota and the user's export. */
export type OwnedFile = {
  name: string;
  size: number;
  created: string;
};

export interface FileKeys {
  newKey(context: string): { key: Buffer; wrapped: string };
  openKey(wrapped: string, context: string): Buffer;
}

export class FileStore {
  readonly #dir: string;
  readonly #byToken: KeyValueStore<StoredFile>;
  readonly #byOwner: MapStore<OwnedFile>;
  readonly #keys: FileKeys;

  constructor(dir: string, byToken: KeyValueStore<StoredFile>, byOwner: MapStore<OwnedFile>, keys: FileKeys) {
    this.#dir = dir;
    this.#byToken = byToken;
    this.#byOwner = byOwner;
    this.#keys = keys;
  }

  get(token: string): Promise<StoredFile | undefined> {
    return this.#byToken.get(token);
  }

  /** The owner's files by link token. */
  list(owner: string): Promise<Map<string, OwnedFile>> {
    return this.#byOwner.getAll(owner);
  }

  async used(owner: string): Promise<number> {
    let sum = 0;
    for (const f of (await this.#byOwner.getAll(owner)).values()) sum += f.size;
    return sum;
  }

  /** Streams `body` (exactly meta.size bytes) to a new sealed file, then records it under `token`. */
  async add(token: string, meta: Omit<StoredFile, 'disk' | 'key' | 'created'>, body: AsyncIterable<Buffer>): Promise<void> {
    const disk = randomBytes(16).toString('hex');
    const { key, wrapped } = this.#keys.newKey(disk);
    try {
      await writeSealed(join(this.#dir, disk), key, meta.size, body);
    } finally {
      key.fill(0);
    }
    const created = new Date().toISOString();
    await this.#byToken.set(token, { ...meta, created, disk, key: wrapped });
    await this.#byOwner.set(meta.owner, token, { name: meta.name, size: meta.size, created });
  }

  /** The plaintext bytes start..end (inclusive) of a stored file. */
  async *read(file: StoredFile, start: number, end: number): AsyncGenerator<Buffer> {
    const key = this.#keys.openKey(file.key, file.disk);
    try {
      yield* readSealed(join(this.#dir, file.disk), key, file.size, start, end);
    } finally {
      key.fill(0);
    }
  }

  async delete(token: string): Promise<void> {
    const file = await this.#byToken.get(token);
    if (!file) return;
    await rm(join(this.#dir, file.disk), { force: true });
    await this.#byToken.delete(token);
    await this.#byOwner.delete(file.owner, token);
  }

  /** Deletes every file uploaded before `cutoff`; returns how many. */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    let n = 0;
    for (const token of await this.#byToken.users()) {
      const file = await this.#byToken.get(token);
      if (file && new Date(file.created) < cutoff) {
        await this.delete(token);
        n++;
      }
    }
    return n;
  }

  /**
   * Deletes files in the folder that no record names and that are older than `minAgeMs` (younger
   * ones may be uploads still arriving): what a crash during an upload leaves behind.
   */
  async sweepOrphans(minAgeMs: number): Promise<number> {
    const named = new Set<string>();
    for (const token of await this.#byToken.users()) {
      const file = await this.#byToken.get(token);
      if (file) named.add(file.disk);
    }
    let n = 0;
    for (const entry of await readdir(this.#dir)) {
      if (named.has(entry)) continue;
      const path = join(this.#dir, entry);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile() || Date.now() - info.mtimeMs < minAgeMs) continue;
      await rm(path, { force: true });
      n++;
    }
    return n;
  }

  /** Deletes every file of an account (after its data, the owner's list among it, was erased). */
  async deleteOwner(owner: string): Promise<void> {
    for (const token of await this.#byToken.users()) {
      if ((await this.#byToken.get(token))?.owner === owner) await this.delete(token);
    }
    await this.#byOwner.deleteAll(owner);
  }
}
