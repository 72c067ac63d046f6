// The storage interfaces, in two layers:
//
// - StorageBackend: the typed stores every module reaches persistent data through (keyval, map,
//   archive, per host and store name), with transactions. Values are JSON. One implementation,
//   src/storage/encrypted.ts, does the JSON coding and the encryption at rest for every backend.
// - ByteBackend: what a database adapter implements (src/storage/sqlite.ts, memory.ts): records
//   addressed by (host, kind, store, owner, key) holding opaque bytes, and time-ordered archive
//   entries with ids and timestamps in clear. It never sees a user name, a key or a value in
//   clear, and knows nothing of JSON, sealing or record binding.
//
// Damaged values are quarantined, never fatal: a read that meets a value it cannot open (altered
// bytes, a value moved from another record, undecodable JSON) leaves that value out (get returns
// undefined; users, getAll, list and exportUser skip it), counts it once (quarantined()) and logs
// a warning naming only the store. Everything else of the user stays readable.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One value per user (e.g. vCard, account credentials, block list). */
export interface KeyValueStore<T> {
  get(user: string): Promise<T | undefined>;
  set(user: string, value: T): Promise<void>;
  delete(user: string): Promise<void>;
  /** Users that have a value in this store (e.g. list-users over the accounts store). */
  users(): Promise<string[]>;
  /** Runs fn as one atomic unit over this and other stores of the same storage (see Transaction). */
  transaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R>;
}

/** Many keyed values per user (e.g. roster items by contact JID, private XML by namespace). */
export interface MapStore<T> {
  get(user: string, key: string): Promise<T | undefined>;
  set(user: string, key: string, value: T): Promise<void>;
  delete(user: string, key: string): Promise<void>;
  getAll(user: string): Promise<Map<string, T>>;
  deleteAll(user: string): Promise<void>;
  /** Runs fn as one atomic unit over this and other stores of the same storage (see Transaction). */
  transaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R>;
}

export interface ArchiveEntry<T> {
  id: string;
  when: Date;
  value: T;
}

/** Time-ordered entries per user (e.g. the offline buffer). */
export interface ArchiveStore<T> {
  /** Appends and returns the new entry's id. Ids increase with insertion order. */
  append(user: string, value: T, when?: Date): Promise<string>;
  /** Oldest first. */
  list(user: string, opts?: { limit?: number }): Promise<ArchiveEntry<T>[]>;
  /** Entries stored, damaged ones included (they go with delete, deleteAll and purges). */
  count(user: string): Promise<number>;
  delete(user: string, ids: string[]): Promise<void>;
  deleteAll(user: string): Promise<void>;
  /** Deletes every entry of this store (all users of the host) older than the cutoff; returns the count. */
  purgeOlderThan(cutoff: Date): Promise<number>;
}

/**
 * A transaction: reads through it see the database plus its own writes; its writes are kept
 * until fn resolves and then stored all at once, or not at all (fn throws, or the commit fails).
 * Every record it read must still be as it was when it commits; if another writer changed one
 * meanwhile, fn runs again from the start on a new transaction (a few times at most, then
 * WriteConflictError). So fn must do nothing but compute and use tx: no stanzas sent, no other
 * writes. Stores join with tx.keyval(store) / tx.map(store).
 */
export interface Transaction {
  keyval<T>(store: KeyValueStore<T>): TxKeyValueStore<T>;
  map<T>(store: MapStore<T>): TxMapStore<T>;
}

/** A key-value store inside a transaction: writes are buffered (hence synchronous). */
export interface TxKeyValueStore<T> {
  get(user: string): Promise<T | undefined>;
  set(user: string, value: T): void;
  delete(user: string): void;
}

/** A map store inside a transaction: writes are buffered (hence synchronous). */
export interface TxMapStore<T> {
  get(user: string, key: string): Promise<T | undefined>;
  set(user: string, key: string, value: T): void;
  delete(user: string, key: string): void;
  /** Every key of the user in this store, including the keys set later in the transaction. */
  deleteAll(user: string): void;
}

/**
 * A storage operation gave up waiting for a lock another connection or process holds (for longer
 * than storage.busy_wait). Nothing was written; the caller fails this one operation only.
 */
export class StorageBusyError extends Error {
  override name = 'StorageBusyError';
}

/**
 * A commit found a record changed since its transaction read it (ByteBackend.write with checks).
 * Nothing was written. Transactions retry on it; it reaches their caller only after many retries.
 */
export class WriteConflictError extends Error {
  override name = 'WriteConflictError';
}

/** Where the storage reports quarantined values: a pino Logger fits. Fields name the store only. */
export interface StorageLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface UserExport {
  host: string;
  user: string;
  keyval: Record<string, Json>;
  map: Record<string, Record<string, Json>>;
  archive: Record<string, { id: string; when: string; value: Json }[]>;
}

/** The typed storage modules and the core use (src/storage/encrypted.ts over any ByteBackend). */
export interface StorageBackend {
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  keyval<T extends Json>(host: string, store: string): KeyValueStore<T>;
  map<T extends Json>(host: string, store: string): MapStore<T>;
  archive<T extends Json>(host: string, store: string): ArchiveStore<T>;
  /** Runs fn atomically (see Transaction); the same as any store's transaction(). */
  transaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R>;
  /** Every stored value of the user on the host, in all stores: the portable export. */
  exportUser(host: string, user: string): Promise<UserExport>;
  /** Removes every stored value of the user on the host, in all stores, at once. */
  deleteUser(host: string, user: string): Promise<void>;
  /** Whether the store of this kind holds anything on the host (e.g. left by a module now turned off). */
  storeHasData(host: string, kind: RecordKind | 'archive', store: string): Promise<boolean>;
  /**
   * Erases the store of this kind on the host, every user's values, and makes the deletion final
   * (flushed, as the backend's flush does); returns how many records went.
   */
  eraseStore(host: string, kind: RecordKind | 'archive', store: string): Promise<number>;
  /**
   * Damaged values met and skipped since this storage was opened (see the top of this file):
   * each counted once, however often it is read. For status output; never fails.
   */
  quarantined(): number;
  /**
   * Wraps a key (e.g. one stored file's encryption key) under the active data key, bound to
   * `context`: whoever keeps the wrapped form next to what the key protects never sees the
   * master key, and a key rotation leaves it readable. Not for values: use the stores.
   */
  wrapKey(key: Uint8Array, context: string): string;
  /** Opens a wrapped key; throws SealError when it was altered or wrapped for another context. */
  unwrapKey(wrapped: string, context: string): Buffer;
}

// ---------------------------------------------------------------------------------------------
// The byte layer: what a database adapter implements.

export type RecordKind = 'keyval' | 'map';

/** One store of one host: keyval and map stores of the same name are distinct. */
export interface StoreScope {
  readonly host: string;
  readonly kind: RecordKind;
  readonly store: string;
}

/** One whole store of one host, of any kind: what the store-wide checks and erasure address. */
export interface WholeStore {
  readonly host: string;
  readonly kind: RecordKind | 'archive';
  readonly store: string;
}

/** The records of one owner in one store. */
export interface OwnerScope extends StoreScope {
  readonly owner: string;
}

/** One record. Keyval records have the key ''. */
export interface RecordRef extends OwnerScope {
  readonly key: string;
}

/** The archive of one owner in one store. */
export interface ArchiveScope {
  readonly host: string;
  readonly store: string;
  readonly owner: string;
}

export type RecordWrite =
  | { readonly op: 'put'; readonly ref: RecordRef; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly ref: RecordRef }
  /** Deletes every record of the owner in the store. */
  | { readonly op: 'clear'; readonly scope: OwnerScope };

/** A commit condition: the record holds exactly these bytes (undefined: it does not exist). */
export interface RecordCheck {
  readonly ref: RecordRef;
  readonly expected: Uint8Array | undefined;
}

export interface ByteRecord {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface OwnedRecord extends ByteRecord {
  readonly owner: string;
}

export interface ByteEntry {
  /** Decimal, increasing with insertion order, never reused (not even after deletion). */
  readonly id: string;
  /** Milliseconds since the epoch, in clear so purges run without opening values. */
  readonly when: number;
  readonly value: Uint8Array;
}

/** Everything one owner has on one host, read as one consistent snapshot. */
export interface OwnerRecords {
  readonly records: readonly { readonly kind: RecordKind; readonly store: string; readonly key: string; readonly value: Uint8Array }[];
  readonly archive: readonly { readonly store: string; readonly id: string; readonly when: number; readonly value: Uint8Array }[];
}

/**
 * A database adapter. Names (host, store, owner, key) are opaque strings compared exactly (no
 * patterns, case-sensitive); values are opaque bytes, returned as copies. Every method may reject
 * with StorageBusyError when another process holds the database for longer than it may wait.
 * src/storage/backend.contract.ts is the suite every implementation passes unchanged.
 */
export interface ByteBackend {
  /** A short name for status output and the storage's own kind ('sqlite', 'memory'). */
  readonly kind: string;
  open(): Promise<void>;
  /** Closes after making deletions final, as flush() does. */
  close(): Promise<void>;
  /**
   * Makes deletions final: after it, no byte of a deleted or overwritten value is left anywhere
   * the backend keeps data (database files, write-ahead logs).
   */
  flush(): Promise<void>;

  get(ref: RecordRef): Promise<Uint8Array | undefined>;
  /** The owner's records in the store, by key (code unit order). */
  getAll(scope: OwnerScope): Promise<ByteRecord[]>;
  /** Every record of the store, all owners (e.g. the users of a keyval store). */
  scan(scope: StoreScope): Promise<OwnedRecord[]>;
  /**
   * Applies the writes in order, atomically: either every check holds and every write is done,
   * or nothing is written (WriteConflictError when a check failed).
   */
  write(writes: readonly RecordWrite[], checks?: readonly RecordCheck[]): Promise<void>;

  /**
   * Adds an entry and returns its id. The value is made by seal(id) once the id is known (the
   * storage binds the value to its entry id), inside the same atomic step: if seal throws,
   * nothing is stored. seal is synchronous.
   */
  append(scope: ArchiveScope, when: number, seal: (id: string) => Uint8Array): Promise<string>;
  /** Oldest first: by time, then by id. limit: at most that many. */
  entries(scope: ArchiveScope, limit?: number): Promise<ByteEntry[]>;
  count(scope: ArchiveScope): Promise<number>;
  /** Deletes these entries of the owner (ids that name none of them are ignored), or all of them. */
  deleteEntries(scope: ArchiveScope, ids: readonly string[] | 'all'): Promise<void>;
  /** Deletes the entries of every owner of the store older than `before` (ms); returns the count. */
  purge(host: string, store: string, before: number): Promise<number>;

  exportOwner(host: string, owner: string): Promise<OwnerRecords>;
  /** Deletes every record and entry of the owner on the host, atomically. */
  deleteOwner(host: string, owner: string): Promise<void>;

  /** Whether the store holds any record (or archive entry) on the host, whoever owns it: one indexed lookup. */
  hasRecords(scope: WholeStore): Promise<boolean>;
  /** Deletes every record (or archive entry) of the store on the host, all owners, atomically; returns the count. */
  deleteStore(scope: WholeStore): Promise<number>;
}
