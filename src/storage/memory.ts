// An in-memory ByteBackend (src/core/storage.ts): for tests, and the proof that the storage layer
// above it (src/storage/encrypted.ts) needs nothing of SQLite. It passes the same contract suite
// (backend.contract.ts). Data lives as long as the object: close() and open() keep it, so a test
// can "restart" on the same data, and `new MemoryBackend(other)` is a second connection to the
// data of `other` (as a second process would open the same database). Nothing goes anywhere else.
import {
  WriteConflictError,
  type ArchiveScope, type ByteBackend, type ByteEntry, type ByteRecord, type OwnedRecord,
  type OwnerRecords, type OwnerScope, type RecordCheck, type RecordKind, type RecordRef,
  type RecordWrite, type StoreScope, type WholeStore,
} from '../core/storage.ts';
import { checkWhen, sameBytes } from './byte-rules.ts';

interface Stored {
  host: string;
  kind: RecordKind;
  store: string;
  owner: string;
  key: string;
  value: Uint8Array;
}

interface Entry {
  id: number;
  host: string;
  store: string;
  owner: string;
  when: number;
  value: Uint8Array;
}

const copy = (b: Uint8Array): Uint8Array => Uint8Array.from(b);
const recordId = (r: RecordRef): string => JSON.stringify([r.host, r.kind, r.store, r.owner, r.key]);
const inScope = (s: Stored, c: OwnerScope): boolean =>
  s.host === c.host && s.kind === c.kind && s.store === c.store && s.owner === c.owner;
const inArchive = (e: Entry, a: ArchiveScope): boolean => e.host === a.host && e.store === a.store && e.owner === a.owner;
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byTime = (a: Entry, b: Entry): number => a.when - b.when || a.id - b.id;


interface Data {
  readonly records: Map<string, Stored>;
  archive: Entry[];
  lastId: number;
}

export class MemoryBackend implements ByteBackend {
  readonly kind = 'memory';
  readonly #data: Data;
  #open = false;

  /** New empty data, or a second connection to the data of `sharing`. */
  constructor(sharing?: MemoryBackend) {
    this.#data = sharing ? sharing.#data : { records: new Map(), archive: [], lastId: 0 };
  }

  get #records(): Map<string, Stored> {
    return this.#data.records;
  }

  get #archive(): Entry[] {
    return this.#data.archive;
  }

  set #archive(entries: Entry[]) {
    this.#data.archive = entries;
  }

  #assertOpen(): void {
    if (!this.#open) throw new Error('storage: memory backend is not open');
  }

  async open(): Promise<void> {
    this.#open = true;
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  async flush(): Promise<void> {
    this.#assertOpen();
  }

  /** Every byte held, names included (tests look for what must not be there). */
  rawBytes(): Buffer {
    const parts: Buffer[] = [];
    for (const r of this.#records.values()) parts.push(Buffer.from([r.host, r.kind, r.store, r.owner, r.key].join('\n')), Buffer.from(r.value));
    for (const e of this.#archive) parts.push(Buffer.from([e.host, e.store, e.owner, String(e.id), String(e.when)].join('\n')), Buffer.from(e.value));
    return Buffer.concat(parts);
  }

  async get(ref: RecordRef): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    const r = this.#records.get(recordId(ref));
    return r ? copy(r.value) : undefined;
  }

  async getAll(scope: OwnerScope): Promise<ByteRecord[]> {
    this.#assertOpen();
    return [...this.#records.values()].filter((r) => inScope(r, scope)).sort((a, b) => byText(a.key, b.key))
      .map((r) => ({ key: r.key, value: copy(r.value) }));
  }

  async scan(scope: StoreScope): Promise<OwnedRecord[]> {
    this.#assertOpen();
    return [...this.#records.values()]
      .filter((r) => r.host === scope.host && r.kind === scope.kind && r.store === scope.store)
      .sort((a, b) => byText(a.owner, b.owner) || byText(a.key, b.key))
      .map((r) => ({ owner: r.owner, key: r.key, value: copy(r.value) }));
  }

  async write(writes: readonly RecordWrite[], checks: readonly RecordCheck[] = []): Promise<void> {
    this.#assertOpen();
    // Synchronous from here on: nothing else runs in between, so the whole batch is atomic.
    for (const { ref, expected } of checks) {
      if (!sameBytes(this.#records.get(recordId(ref))?.value, expected)) {
        throw new WriteConflictError('storage: a record changed since the transaction read it');
      }
    }
    for (const w of writes) {
      switch (w.op) {
        case 'put':
          this.#records.set(recordId(w.ref), { ...w.ref, value: copy(w.value) });
          break;
        case 'delete':
          this.#records.delete(recordId(w.ref));
          break;
        case 'clear':
          for (const [id, r] of this.#records) if (inScope(r, w.scope)) this.#records.delete(id);
          break;
      }
    }
  }

  async append(scope: ArchiveScope, when: number, seal: (id: string) => Uint8Array): Promise<string> {
    this.#assertOpen();
    const ms = checkWhen(when);
    const id = this.#data.lastId + 1;
    const value = copy(seal(String(id)));
    // Taken only once sealing worked; ids are never reused either way.
    this.#data.lastId = id;
    this.#archive.push({ id, host: scope.host, store: scope.store, owner: scope.owner, when: ms, value });
    return String(id);
  }

  async entries(scope: ArchiveScope, limit?: number): Promise<ByteEntry[]> {
    this.#assertOpen();
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new RangeError('storage: limit must be a non-negative integer');
    }
    const list = this.#archive.filter((e) => inArchive(e, scope)).sort(byTime);
    return list.slice(0, limit ?? list.length).map((e) => ({ id: String(e.id), when: e.when, value: copy(e.value) }));
  }

  async count(scope: ArchiveScope): Promise<number> {
    this.#assertOpen();
    return this.#archive.filter((e) => inArchive(e, scope)).length;
  }

  async deleteEntries(scope: ArchiveScope, ids: readonly string[] | 'all'): Promise<void> {
    this.#assertOpen();
    const gone = ids === 'all' ? undefined : new Set(ids);
    this.#archive = this.#archive.filter((e) => !(inArchive(e, scope) && (gone === undefined || gone.has(String(e.id)))));
  }

  async purge(host: string, store: string, before: number): Promise<number> {
    this.#assertOpen();
    const ms = checkWhen(before);
    const kept = this.#archive.filter((e) => !(e.host === host && e.store === store && e.when < ms));
    const n = this.#archive.length - kept.length;
    this.#archive = kept;
    return n;
  }

  async exportOwner(host: string, owner: string): Promise<OwnerRecords> {
    this.#assertOpen();
    const records = [...this.#records.values()].filter((r) => r.host === host && r.owner === owner)
      .sort((a, b) => byText(a.kind, b.kind) || byText(a.store, b.store) || byText(a.key, b.key))
      .map((r) => ({ kind: r.kind, store: r.store, key: r.key, value: copy(r.value) }));
    const archive = this.#archive.filter((e) => e.host === host && e.owner === owner)
      .sort((a, b) => byText(a.store, b.store) || byTime(a, b))
      .map((e) => ({ store: e.store, id: String(e.id), when: e.when, value: copy(e.value) }));
    return { records, archive };
  }

  async deleteOwner(host: string, owner: string): Promise<void> {
    this.#assertOpen();
    for (const [id, r] of this.#records) if (r.host === host && r.owner === owner) this.#records.delete(id);
    this.#archive = this.#archive.filter((e) => !(e.host === host && e.owner === owner));
  }

  async hasRecords(scope: WholeStore): Promise<boolean> {
    this.#assertOpen();
    if (scope.kind === 'archive') return this.#archive.some((e) => e.host === scope.host && e.store === scope.store);
    for (const r of this.#records.values()) if (r.host === scope.host && r.kind === scope.kind && r.store === scope.store) return true;
    return false;
  }

  async deleteStore(scope: WholeStore): Promise<number> {
    this.#assertOpen();
    if (scope.kind === 'archive') {
      const kept = this.#archive.filter((e) => !(e.host === scope.host && e.store === scope.store));
      const n = this.#archive.length - kept.length;
      this.#archive = kept;
      return n;
    }
    let n = 0;
    for (const [id, r] of this.#records) {
      if (r.host === scope.host && r.kind === scope.kind && r.store === scope.store) {
        this.#records.delete(id);
        n++;
      }
    }
    return n;
  }
}
