// Shared pieces of the storage contract suite (../backend.contract.ts): what a backend under test
// provides, a recording wrapper that shows the bytes the storage layer hands a backend, and the
// storage layer built over a fixture's backend with a known master key.
import { randomBytes } from 'node:crypto';
import type {
  ArchiveScope, ByteBackend, ByteEntry, ByteRecord, OwnedRecord, OwnerRecords, OwnerScope,
  RecordCheck, RecordRef, RecordWrite, StorageLog, StoreScope, WholeStore,
} from '../../core/storage.ts';
import { EncryptedBackend } from '../encrypted.ts';

/** A byte backend under test, on its own empty data. */
export interface ByteBackendFixture {
  /**
   * A backend on this fixture's data, not yet opened. Every call gives one over the same data
   * (a new instance, as after a restart, or the same one).
   */
  backend(): ByteBackend;
  /**
   * Every byte the backend keeps at rest right now: its files, write-ahead log included. The
   * privacy checks look in it for what must not be there (and, to be sure they can see, for what
   * must be).
   */
  rawBytes(): Buffer;
  /** Removes the data (temp files); called after the backend was closed. */
  cleanup(): Promise<void>;
}

export type FixtureFactory = () => Promise<ByteBackendFixture>;

/** Random host names per test, so tests stay independent where the data is shared. */
export function testHosts(): { host: string; host2: string } {
  const tag = randomBytes(6).toString('hex');
  return { host: `a-${tag}.example`, host2: `b-${tag}.example` };
}

/** The storage layer over a backend, with this master key (new random key by default). */
export function storageOver(backend: ByteBackend, masterKey: Uint8Array = randomBytes(32), log?: StorageLog): EncryptedBackend {
  return new EncryptedBackend({ backend, masterKey, ...(log ? { log } : {}) });
}

export interface RecordedPut {
  readonly ref: RecordRef;
  readonly value: Uint8Array;
}

export interface RecordedAppend {
  readonly scope: ArchiveScope;
  readonly id: string;
  readonly value: Uint8Array;
}

/** Passes every call on, and records the bytes written: what the storage layer gave the backend. */
export class RecordingBackend implements ByteBackend {
  readonly inner: ByteBackend;
  readonly puts: RecordedPut[] = [];
  readonly appends: RecordedAppend[] = [];

  constructor(inner: ByteBackend) {
    this.inner = inner;
  }

  get kind(): string {
    return this.inner.kind;
  }

  /** Every value written, keyring included, as copies. */
  written(): Uint8Array[] {
    return [...this.puts.map((p) => p.value), ...this.appends.map((a) => a.value)];
  }

  /** The last put to a record of this store (and owner, when given) that is not the keyring. */
  lastPut(store: string, pred: (p: RecordedPut) => boolean = () => true): RecordedPut {
    const found = this.puts.filter((p) => p.ref.store === store && p.ref.host !== '' && pred(p)).at(-1);
    if (!found) throw new Error(`no put to store ${store}`);
    return found;
  }

  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  get(ref: RecordRef): Promise<Uint8Array | undefined> {
    return this.inner.get(ref);
  }
  getAll(scope: OwnerScope): Promise<ByteRecord[]> {
    return this.inner.getAll(scope);
  }
  scan(scope: StoreScope): Promise<OwnedRecord[]> {
    return this.inner.scan(scope);
  }
  write(writes: readonly RecordWrite[], checks?: readonly RecordCheck[]): Promise<void> {
    for (const w of writes) if (w.op === 'put') this.puts.push({ ref: w.ref, value: Uint8Array.from(w.value) });
    return this.inner.write(writes, checks);
  }
  append(scope: ArchiveScope, when: number, seal: (id: string) => Uint8Array): Promise<string> {
    return this.inner.append(scope, when, (id) => {
      const value = seal(id);
      this.appends.push({ scope, id, value: Uint8Array.from(value) });
      return value;
    });
  }
  entries(scope: ArchiveScope, limit?: number): Promise<ByteEntry[]> {
    return this.inner.entries(scope, limit);
  }
  count(scope: ArchiveScope): Promise<number> {
    return this.inner.count(scope);
  }
  deleteEntries(scope: ArchiveScope, ids: readonly string[] | 'all'): Promise<void> {
    return this.inner.deleteEntries(scope, ids);
  }
  purge(host: string, store: string, before: number): Promise<number> {
    return this.inner.purge(host, store, before);
  }
  exportOwner(host: string, owner: string): Promise<OwnerRecords> {
    return this.inner.exportOwner(host, owner);
  }
  deleteOwner(host: string, owner: string): Promise<void> {
    return this.inner.deleteOwner(host, owner);
  }
  hasRecords(scope: WholeStore): Promise<boolean> {
    return this.inner.hasRecords(scope);
  }
  deleteStore(scope: WholeStore): Promise<number> {
    return this.inner.deleteStore(scope);
  }
}

/** Whether `haystack` holds these bytes anywhere. */
export function holds(haystack: Buffer, needle: Uint8Array | string): boolean {
  return haystack.includes(typeof needle === 'string' ? Buffer.from(needle, 'utf8') : Buffer.from(needle));
}
