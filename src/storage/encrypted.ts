// The storage layer: the typed stores of src/core/storage.ts over any ByteBackend, with the JSON
// coding and the encryption at rest (issue 3) done here, once, for every backend. Values are
// sealed with AES-256-GCM (NIST SP 800-38D) under data keys wrapped by the master key (envelope
// encryption); user names and map keys become keyed hashes (HMAC-SHA-256, RFC 2104); every value
// is bound to its record through the associated data (record-codec.ts), so it can't be moved to
// another account. The real user (and key) travel inside the sealed value, so users(), getAll()
// and exportUser() return real names. docs/encryption.md lists what stays in clear.
//
// The backend below stores and returns bytes under (host, kind, store, owner, key); it never sees
// a name, a key or a value in clear. Damaged values are quarantined here (see core/storage.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ArchiveEntry, ArchiveScope, ArchiveStore, ByteBackend, Json, KeyValueStore, MapStore, RecordRef,
  RecordKind, StorageBackend, StorageLog, Transaction, UserExport,
} from '../core/storage.ts';
import { WriteConflictError } from '../core/storage.ts';
import { KeyError } from './encryption/key-error.ts';
import { Keyring, MASTER_KEY_BYTES, type DataKeyInfo } from './encryption/keyring.ts';
import { SealError, UnknownDataKeyError, seal, sealedKeyId, unseal } from './encryption/sealing.ts';
import {
  Quarantine, byKey, checkIdent, decodeJson, encodeEnvelope, encodeJson, keyedHash, openEnvelope, put,
  recordAad, refAad, type Envelope, type StoreKind,
} from './record-codec.ts';
import { StoreTransaction, type StoreBinding, type TxContext } from './transaction.ts';

export { KeyError } from './encryption/key-error.ts';
export { SealError, UnknownDataKeyError } from './encryption/sealing.ts';

export interface EncryptedBackendOptions {
  /** Where the bytes go, e.g. `new SqliteBackend({ path })`; opened and closed with this storage. */
  backend: ByteBackend;
  /**
   * The 32-byte master key, or a function that loads it (e.g. loadMasterKey from
   * ./encryption/key-providers.ts) when open() runs. A loaded key is wiped after use; a
   * given buffer is left to its owner.
   */
  masterKey: Uint8Array | (() => Promise<Uint8Array>);
  /** Warnings about quarantined values (store name only). */
  log?: StorageLog;
}

export interface KeyInfo {
  /** The data key new values are sealed with. */
  active: number;
  dataKeys: DataKeyInfo[];
}

/**
 * The keyring lives in the backend under the empty host name, which no real host can have (the
 * stores refuse it). It is stored as plain JSON: everything secret in it is wrapped.
 */
const KEYRING_REF: RecordRef = { host: '', kind: 'keyval', store: '_keyring', owner: '_', key: '' };

/** User hashes are needed on every call and rarely change; the cache is cleared when full. */
const USER_CACHE_MAX = 50_000;
/**
 * Runs of a transaction (or keyring change) at most: a run fails only when another writer's commit
 * came between its reads and its commit, so every failed run means someone else got through.
 */
const MAX_ATTEMPTS = 20;
/** Longest pause (ms) before running a conflicted transaction again: random, so rivals spread out. */
const RETRY_PAUSE_MAX_MS = 50;

const DAMAGED_KEYRING = 'the keyring stored in the database is damaged (it cannot be read at all), so the data cannot be decrypted. '
  + 'Restore the database from a backup; JabberX will not replace the keyring.';

/** Apart from every record's AAD (record-codec.ts), so a wrapped key can't pass for a value. */
const fileKeyAad = (context: string): string => `jabberx wrapped key\u0000${context}`;

function checkHost(host: string): void {
  checkIdent(host);
  if (host === KEYRING_REF.host) throw new TypeError('storage: the empty host name is reserved (encryption keyring)');
}

function whenMs(when: Date | undefined): number {
  const ms = when === undefined ? Date.now() : when.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('storage: invalid archive date');
  return ms;
}

export class EncryptedBackend implements StorageBackend {
  readonly kind: string;
  readonly #backend: ByteBackend;
  readonly #masterKey: Uint8Array | (() => Promise<Uint8Array>);
  readonly #quarantine: Quarantine;
  /** The stores this storage handed out, for transactions to recognize them. */
  readonly #handles = new WeakMap<object, StoreBinding>();
  readonly #tx: TxContext;
  #ring: Keyring | undefined;
  #opening: Promise<void> | undefined;
  #mutating: Promise<unknown> = Promise.resolve();
  readonly #userCache = new Map<string, string>();
  /** Reads running again after a keyring reload: an unknown data key is damage then, not news. */
  #rereading = 0;

  constructor(opts: EncryptedBackendOptions) {
    this.#backend = opts.backend;
    this.#masterKey = opts.masterKey;
    this.#quarantine = new Quarantine(opts.log);
    this.kind = `encrypted-${this.#backend.kind}`;
    this.#tx = {
      backend: this.#backend,
      binding: (handle) => this.#handles.get(handle),
      ref: (b, user, key) => this.#ref(b, user, key),
      owner: (b, user) => this.#user(b.host, user),
      seal: (ref, user, key, value) => this.#seal(encodeEnvelope(user, key, value), refAad(ref)),
      open: (ref, bytes, user, key) => this.#open(ref.kind, ref.host, ref.store, ref.owner, ref.key, bytes, user, key)?.v,
    };
  }

  /** The byte backend below (for backend-specific maintenance and tests). */
  get backend(): ByteBackend {
    return this.#backend;
  }

  /** Damaged values skipped since this storage was created, each counted once. */
  quarantined(): number {
    return this.#quarantine.count;
  }

  get #r(): Keyring {
    if (!this.#ring) throw new Error('storage: encrypted backend is not open');
    return this.#ring;
  }

  /** Every call fails when closed, also those that need no key (so closing is visible everywhere). */
  #assertOpen(): void {
    void this.#r;
  }

  /** The stored keyring, or undefined when there is none; KeyError when it is not even JSON. */
  async #storedKeyring(): Promise<{ bytes: Uint8Array; stored: unknown } | undefined> {
    const bytes = await this.#backend.get(KEYRING_REF);
    if (bytes === undefined) return undefined;
    try {
      return { bytes, stored: decodeJson(bytes) };
    } catch {
      // Never replaced by a new keyring: that would make every stored value unreadable for good.
      throw new KeyError(DAMAGED_KEYRING);
    }
  }

  /** Stores a keyring if the stored one still holds `expected` (undefined: none); WriteConflictError else. */
  async #storeKeyring(ring: Keyring, expected: Uint8Array | undefined): Promise<void> {
    await this.#backend.write([{ op: 'put', ref: KEYRING_REF, value: encodeJson(ring.toStored()) }], [{ ref: KEYRING_REF, expected }]);
  }

  /**
   * Loads the master key, opens the backend and unlocks the keyring, creating it on first start.
   * A wrong key throws KeyError before anything is written.
   */
  async open(): Promise<void> {
    if (this.#ring) return;
    this.#opening ??= this.#openNow().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #openNow(): Promise<void> {
    const owned = typeof this.#masterKey === 'function';
    // The key first: without it there is no reason to touch the database at all.
    const master = typeof this.#masterKey === 'function' ? await this.#masterKey() : this.#masterKey;
    try {
      if (!(master instanceof Uint8Array) || master.length !== MASTER_KEY_BYTES) {
        throw new KeyError(`the master key must be ${MASTER_KEY_BYTES} bytes (256 bits)`);
      }
      await this.#backend.open();
      try {
        this.#ring = await this.#unlockOrCreate(master);
      } catch (err) {
        await this.#backend.close().catch(() => undefined);
        throw err;
      }
    } finally {
      if (owned) master.fill(0);
    }
  }

  async #unlockOrCreate(master: Uint8Array): Promise<Keyring> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#storedKeyring();
      if (current) return Keyring.unlock(current.stored, master);
      const ring = Keyring.create(master);
      try {
        await this.#storeKeyring(ring, undefined);
        return ring;
      } catch (err) {
        // Another process made the keyring first: unlock that one.
        if (!(err instanceof WriteConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    await this.#mutating;
    this.#ring = undefined;
    this.#userCache.clear();
    await this.#backend.close();
  }

  /** Makes deletions final in the backend's files (ByteBackend.flush). */
  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#backend.flush();
  }

  /** The data keys (for `jabberx rotate-key` and status output); no key material. */
  keyInfo(): KeyInfo {
    const ring = this.#r;
    return { active: ring.activeId, dataKeys: ring.dataKeys() };
  }

  /**
   * Re-wraps every data key (and the index key) under a new master key and stores the keyring
   * in one write; values are not touched and the running server keeps working. Afterwards only
   * the new key opens the database: store it where the key provider reads it before restarting.
   */
  async rotateMasterKey(newKey: Uint8Array): Promise<void> {
    if (!(newKey instanceof Uint8Array) || newKey.length !== MASTER_KEY_BYTES) {
      throw new KeyError(`the new master key must be ${MASTER_KEY_BYTES} bytes (256 bits)`);
    }
    await this.#mutate((ring) => ring.rewrapped(newKey));
    // Read back what is stored and open it as the next start will: proof the new key works.
    Keyring.unlock((await this.#storedKeyring())?.stored, newKey);
  }

  /** Adds a new data key and makes it active; values sealed under older keys stay readable. Returns its id. */
  async rotateDataKey(): Promise<number> {
    return (await this.#mutate((ring) => ring.withNewDataKey())).activeId;
  }

  /**
   * Changes the keyring one at a time, starting from what is stored (so a data key added by
   * another process is kept), on condition that nobody stored another keyring meanwhile, and
   * swaps the new keyring in only once it is written.
   */
  #mutate(change: (current: Keyring) => Keyring): Promise<Keyring> {
    const run = async (): Promise<Keyring> => {
      for (let attempt = 1; ; attempt++) {
        const ring = this.#r;
        const current = await this.#storedKeyring();
        const next = change(current === undefined ? ring : ring.reload(current.stored));
        try {
          await this.#storeKeyring(next, current?.bytes);
        } catch (err) {
          if (err instanceof WriteConflictError && attempt < MAX_ATTEMPTS) continue;
          throw err;
        }
        this.#ring = next;
        return next;
      }
    };
    const result = this.#mutating.then(run, run);
    this.#mutating = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs a read; if a value names a data key this process doesn't know (another process rotated
   * the data key), reloads the keyring once and tries again. In that second run a data key that
   * is still unknown marks a damaged value, which is quarantined.
   */
  async #read<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof UnknownDataKeyError)) throw err;
      const current = await this.#storedKeyring();
      if (current === undefined) throw err;
      this.#ring = this.#r.reload(current.stored);
      this.#rereading++;
      try {
        return await fn();
      } finally {
        this.#rereading--;
      }
    }
  }

  wrapKey(key: Uint8Array, context: string): string {
    this.#assertOpen();
    return Buffer.from(this.#seal(key, fileKeyAad(context))).toString('base64');
  }

  unwrapKey(wrapped: string, context: string): Buffer {
    this.#assertOpen();
    return Buffer.from(this.#unseal(Buffer.from(wrapped, 'base64'), fileKeyAad(context)));
  }

  /** Seals with the active data key. */
  #seal(plain: Uint8Array, aad: string): Uint8Array {
    const ring = this.#r;
    return seal(ring.activeKey, ring.activeId, plain, aad);
  }

  /** Opens with whichever data key the value names. */
  #unseal(sealed: Uint8Array, aad: string): Uint8Array {
    const id = sealedKeyId(sealed);
    const key = this.#r.dataKey(id);
    if (!key) {
      // Retryable: #read reloads the keyring and reads again. A key still unknown after that is a
      // damaged header: quarantined.
      if (this.#rereading > 0) throw new SealError(`storage: the value names data key ${id}, which the stored keyring does not hold (damaged)`);
      throw new UnknownDataKeyError(id);
    }
    return unseal(key, sealed, aad);
  }

  /**
   * Opens a stored value (keyKey: the stored key, '' or the archive entry id) and checks that it
   * names `user` and `key` when given (a map value must name a key); undefined when it is damaged
   * (quarantined). An unknown data key is passed on, for #read to retry.
   */
  #open(kind: StoreKind, host: string, store: string, owner: string, keyKey: string, bytes: Uint8Array, user: string | undefined, key: string | undefined): Envelope | undefined {
    this.#assertOpen();
    try {
      return openEnvelope(this.#unseal(bytes, recordAad(kind, host, owner, store, keyKey)), user, key, kind === 'map');
    } catch (err) {
      if (err instanceof UnknownDataKeyError) throw err;
      this.#quarantine.add(err, kind, host, store, `${owner}\u0000${keyKey}`);
      return undefined;
    }
  }

  /** Keyed hash of a user name, per host: the same person on two hosts gets unrelated hashes. */
  #user(host: string, user: string): string {
    checkIdent(user);
    const ring = this.#r;
    const cacheKey = `${host}\u0000${user}`;
    let h = this.#userCache.get(cacheKey);
    if (h === undefined) {
      h = keyedHash(ring.indexKey, `u\u0000${cacheKey}`);
      if (this.#userCache.size >= USER_CACHE_MAX) this.#userCache.clear();
      this.#userCache.set(cacheKey, h);
    }
    return h;
  }

  /**
   * Keyed hash of a map key, scoped to its user and store: two users with the same contact get
   * different hashes, so the stored rows don't reveal who shares contacts with whom.
   */
  #key(host: string, user: string, store: string, key: string): string {
    checkIdent(key);
    return keyedHash(this.#r.indexKey, `k\u0000${host}\u0000${user}\u0000${store}\u0000${key}`);
  }

  #ref(b: StoreBinding, user: string, key: string): RecordRef {
    const owner = this.#user(b.host, user);
    return { host: b.host, kind: b.kind, store: b.store, owner, key: b.kind === 'map' ? this.#key(b.host, user, b.store, key) : '' };
  }

  async #put(ref: RecordRef, user: string, key: string | undefined, value: Json): Promise<void> {
    await this.#backend.write([{ op: 'put', ref, value: this.#seal(encodeEnvelope(user, key, value), refAad(ref)) }]);
  }

  keyval<T extends Json>(host: string, store: string): KeyValueStore<T> {
    checkHost(host);
    checkIdent(store);
    const b: StoreBinding = { kind: 'keyval', host, store };
    const handle: KeyValueStore<T> = {
      get: (user) => this.#read(async () => {
        const ref = this.#ref(b, user, '');
        const bytes = await this.#backend.get(ref);
        return bytes === undefined ? undefined : this.#open('keyval', host, store, ref.owner, '', bytes, user, undefined)?.v as T | undefined;
      }),
      set: async (user, value) => this.#put(this.#ref(b, user, ''), user, undefined, value),
      delete: async (user) => this.#backend.write([{ op: 'delete', ref: this.#ref(b, user, '') }]),
      users: () => this.#read(async () => {
        this.#assertOpen();
        const out: string[] = [];
        for (const r of await this.#backend.scan(b)) {
          const env = this.#open('keyval', host, store, r.owner, r.key, r.value, undefined, undefined);
          if (env) out.push(env.u);
        }
        return out.sort();
      }),
      transaction: (fn) => this.transaction(fn),
    };
    this.#handles.set(handle, b);
    return handle;
  }

  map<T extends Json>(host: string, store: string): MapStore<T> {
    checkHost(host);
    checkIdent(store);
    const b: StoreBinding = { kind: 'map', host, store };
    const handle: MapStore<T> = {
      get: (user, key) => this.#read(async () => {
        const ref = this.#ref(b, user, key);
        const bytes = await this.#backend.get(ref);
        return bytes === undefined ? undefined : this.#open('map', host, store, ref.owner, ref.key, bytes, user, key)?.v as T | undefined;
      }),
      set: async (user, key, value) => this.#put(this.#ref(b, user, key), user, key, value),
      delete: async (user, key) => this.#backend.write([{ op: 'delete', ref: this.#ref(b, user, key) }]),
      getAll: (user) => this.#read(async () => {
        const owner = this.#user(host, user);
        const entries: [string, T][] = [];
        for (const r of await this.#backend.getAll({ ...b, owner })) {
          const env = this.#open('map', host, store, owner, r.key, r.value, user, undefined);
          if (env?.k !== undefined) entries.push([env.k, env.v as T]);
        }
        return new Map(byKey(entries));
      }),
      deleteAll: async (user) => this.#backend.write([{ op: 'clear', scope: { ...b, owner: this.#user(host, user) } }]),
      transaction: (fn) => this.transaction(fn),
    };
    this.#handles.set(handle, b);
    return handle;
  }

  /** Entry ids and dates are the backend's: ids in insertion order, dates in clear for purging. */
  archive<T extends Json>(host: string, store: string): ArchiveStore<T> {
    checkHost(host);
    checkIdent(store);
    const scope = (user: string): ArchiveScope => ({ host, store, owner: this.#user(host, user) });
    return {
      append: async (user, value, when) => {
        const s = scope(user);
        const ms = whenMs(when);
        const plain = encodeEnvelope(user, undefined, value);
        // Sealed inside the backend's append, once the entry id (part of the AAD) exists.
        return this.#backend.append(s, ms, (id) => this.#seal(plain, recordAad('archive', host, s.owner, store, id)));
      },
      list: (user, opts) => this.#read(async () => {
        const s = scope(user);
        const out: ArchiveEntry<T>[] = [];
        for (const e of await this.#backend.entries(s, opts?.limit)) {
          const env = this.#open('archive', host, store, s.owner, e.id, e.value, user, undefined);
          if (env) out.push({ id: e.id, when: new Date(e.when), value: env.v as T });
        }
        return out;
      }),
      count: async (user) => this.#backend.count(scope(user)),
      delete: async (user, ids) => this.#backend.deleteEntries(scope(user), ids),
      deleteAll: async (user) => this.#backend.deleteEntries(scope(user), 'all'),
      purgeOlderThan: async (cutoff) => {
        this.#assertOpen();
        return this.#backend.purge(host, store, whenMs(cutoff));
      },
    };
  }

  /**
   * Runs fn as one atomic unit (the Transaction of core/storage.ts): its writes are stored all
   * at once if every record it read is unchanged, else it runs again, MAX_ATTEMPTS times at most.
   */
  async transaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      this.#assertOpen();
      const run = await this.#read(async () => {
        const tx = new StoreTransaction(this.#tx);
        try {
          return { tx, result: await fn(tx) };
        } catch (err) {
          tx.abandon();
          throw err;
        }
      });
      try {
        await run.tx.commit();
        return run.result;
      } catch (err) {
        if (!(err instanceof WriteConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      }
      await sleep(Math.random() * Math.min(2 ** attempt, RETRY_PAUSE_MAX_MS));
    }
  }

  /** The user's portable copy: real store keys and plaintext values, from one snapshot. */
  async exportUser(host: string, user: string): Promise<UserExport> {
    checkHost(host);
    return this.#read(async () => {
      const owner = this.#user(host, user);
      const dump = await this.#backend.exportOwner(host, owner);
      const out: UserExport = { host, user, keyval: {}, map: {}, archive: {} };
      const maps = new Map<string, [string, Json][]>();
      for (const r of dump.records) {
        const env = this.#open(r.kind, host, r.store, owner, r.key, r.value, user, undefined);
        if (!env) continue;
        if (r.kind === 'keyval') put(out.keyval, r.store, env.v);
        else if (env.k !== undefined) {
          const list = maps.get(r.store) ?? [];
          list.push([env.k, env.v]);
          maps.set(r.store, list);
        }
      }
      for (const [store, entries] of maps) {
        const m: Record<string, Json> = {};
        for (const [k, v] of byKey(entries)) put(m, k, v);
        put(out.map, store, m);
      }
      for (const e of dump.archive) {
        const env = this.#open('archive', host, e.store, owner, e.id, e.value, user, undefined);
        if (!env) continue;
        if (!Object.hasOwn(out.archive, e.store)) put(out.archive, e.store, []);
        out.archive[e.store]?.push({ id: e.id, when: new Date(e.when).toISOString(), value: env.v });
      }
      return out;
    });
  }

  async deleteUser(host: string, user: string): Promise<void> {
    checkHost(host);
    await this.#backend.deleteOwner(host, this.#user(host, user));
  }

  async storeHasData(host: string, kind: RecordKind | 'archive', store: string): Promise<boolean> {
    checkHost(host);
    this.#assertOpen();
    return this.#backend.hasRecords({ host, kind, store });
  }

  async eraseStore(host: string, kind: RecordKind | 'archive', store: string): Promise<number> {
    checkHost(host);
    this.#assertOpen();
    const n = await this.#backend.deleteStore({ host, kind, store });
    // Erasure on the operator's word: no page image of it may stay in a write-ahead log.
    await this.#backend.flush();
    return n;
  }
}
