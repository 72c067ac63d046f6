// The storage interface: every module reaches persistent data only through these stores.
// Values are JSON-serializable; a backend seals each value through its ValueCodec, with the
// record's identity (host, user, store, key) as associated data, so a value can't be moved.
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
}

/** Many keyed values per user (e.g. roster items by contact JID, private XML by namespace). */
export interface MapStore<T> {
  get(user: string, key: string): Promise<T | undefined>;
  set(user: string, key: string, value: T): Promise<void>;
  delete(user: string, key: string): Promise<void>;
  getAll(user: string): Promise<Map<string, T>>;
  deleteAll(user: string): Promise<void>;
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
  count(user: string): Promise<number>;
  delete(user: string, ids: string[]): Promise<void>;
  deleteAll(user: string): Promise<void>;
  /** Deletes every entry of this store (all users of the host) older than the cutoff; returns the count. */
  purgeOlderThan(cutoff: Date): Promise<number>;
}

/**
 * Seals and opens stored values. The identity codec stores JSON as is; issue 3 adds encryption.
 * decode throws for a value it cannot open; the backend then quarantines that value, unless the
 * error is retryable (isRetryableDecodeError), which it passes on to the caller.
 */
export interface ValueCodec {
  encode(plain: Uint8Array, aad: string): Uint8Array;
  decode(sealed: Uint8Array, aad: string): Uint8Array;
}

/**
 * A decode failure the caller may cure and then read again (e.g. a data key another process
 * just added): backends pass it on instead of quarantining the value. Marked by `retryable: true`.
 */
export function isRetryableDecodeError(err: unknown): boolean {
  return err instanceof Error && (err as { retryable?: unknown }).retryable === true;
}

/**
 * A storage operation gave up waiting for a lock another connection or process holds (for longer
 * than storage.busy_wait). Nothing was written; the caller fails this one operation only.
 */
export class StorageBusyError extends Error {
  override name = 'StorageBusyError';
}

/** Where a backend reports quarantined values: a pino Logger fits. Fields name the store only. */
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

export interface StorageBackend {
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;
  keyval<T extends Json>(host: string, store: string): KeyValueStore<T>;
  map<T extends Json>(host: string, store: string): MapStore<T>;
  archive<T extends Json>(host: string, store: string): ArchiveStore<T>;
  /** Every stored value of the user on the host, in all stores: the portable export. */
  exportUser(host: string, user: string): Promise<UserExport>;
  /** Removes every stored value of the user on the host, in all stores, at once. */
  deleteUser(host: string, user: string): Promise<void>;
  /**
   * Damaged values met and skipped since this backend was created (see the top of this file):
   * each counted once, however often it is read. For status output; never fails.
   */
  quarantined(): number;
}

/** The associated data that binds a sealed value to its record. */
export function recordAad(kind: 'keyval' | 'map' | 'archive', host: string, user: string, store: string, key: string): string {
  return `${kind}\u0000${host}\u0000${user}\u0000${store}\u0000${key}`;
}

export const identityCodec: ValueCodec = {
  encode: (plain) => plain,
  decode: (sealed) => sealed,
};
