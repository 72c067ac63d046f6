// Encryption at rest (issue 3) for any StorageBackend: values sealed with AES-256-GCM (NIST
// SP 800-38D) under data keys wrapped by the master key (envelope encryption), user names and
// map keys replaced by keyed hashes (HMAC-SHA-256, RFC 2104), and every value bound to its
// record through the associated data, so it can't be moved to another account.
//
// The inner backend is built around a codec supplied here (the ValueCodec of core/storage.ts),
// so the inner backend keeps doing what it already does, sealing each value with its record
// identity (host, hashed user, store, hashed key or archive entry id) as AAD. The wrapper adds
// the hashing of names, and puts the real user (and key) inside the sealed value, so users(),
// getAll() and exportUser() can return real names. docs/encryption.md lists what stays in clear.
import { createHmac, type KeyObject } from 'node:crypto';
import {
  recordAad,
  type ArchiveEntry, type ArchiveStore, type Json, type KeyValueStore, type MapStore,
  type StorageBackend, type StorageLog, type UserExport, type ValueCodec,
} from '../core/storage.ts';
import { KeyError } from './encryption/key-error.ts';
import { Keyring, MASTER_KEY_BYTES, type DataKeyInfo } from './encryption/keyring.ts';
import { SealError, UnknownDataKeyError, seal, sealedKeyId, unseal } from './encryption/sealing.ts';

export { KeyError } from './encryption/key-error.ts';
export { SealError, UnknownDataKeyError } from './encryption/sealing.ts';

export interface EncryptedBackendOptions {
  /**
   * Builds the inner backend around the sealing codec, e.g.
   * `(codec) => new SqliteBackend({ path, codec })`. The inner backend must seal every value
   * through this codec with recordAad() of the record it is stored in.
   */
  inner: (codec: ValueCodec) => StorageBackend;
  /**
   * The 32-byte master key, or a function that loads it (e.g. loadMasterKey from
   * ./encryption/key-providers.ts) when open() runs. A loaded key is wiped after use; a
   * given buffer is left to its owner.
   */
  masterKey: Uint8Array | (() => Promise<Uint8Array>);
  /** Warnings about quarantined values (store name only; the inner backend takes its own). */
  log?: StorageLog;
}

export interface KeyInfo {
  /** The data key new values are sealed with. */
  active: number;
  dataKeys: DataKeyInfo[];
}

/**
 * The keyring lives in the inner backend, under the empty host name, which no real host can
 * have (the wrapper refuses it). It is stored as plain JSON: everything secret in it is wrapped.
 */
const KEYRING_HOST = '';
const KEYRING_STORE = '_keyring';
const KEYRING_USER = '_';
const KEYRING_AAD = recordAad('keyval', KEYRING_HOST, KEYRING_USER, KEYRING_STORE, '');

/** Base64url characters kept of a keyed hash: 192 bits, far beyond any collision risk. */
const HASH_CHARS = 32;
/** User hashes are needed on every call and rarely change; the cache is cleared when full. */
const USER_CACHE_MAX = 50_000;
/** Damaged records remembered (so each is counted and logged once); past this, each read counts. */
const QUARANTINE_TRACKED_MAX = 10_000;

/**
 * Same rule as the SQLite backend (which now only sees hashes): NUL joins the parts of the AAD
 * and of the hashed input, and lone surrogates would alias other strings once encoded as UTF-8.
 */
function checkIdent(...idents: string[]): void {
  for (const s of idents) {
    if (typeof s !== 'string' || s.includes('\u0000') || !s.isWellFormed()) {
      throw new TypeError('storage: identifiers must be well-formed strings without NUL');
    }
  }
}

function checkHost(host: string): void {
  checkIdent(host);
  if (host === KEYRING_HOST) throw new TypeError('storage: the empty host name is reserved (encryption keyring)');
}

function keyedHash(key: KeyObject, input: string): string {
  return createHmac('sha256', key).update(input, 'utf8').digest('base64url').slice(0, HASH_CHARS);
}

/** Assigns an own enumerable property even for names like "__proto__" (store names are data). */
function put<V>(obj: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const MISMATCH = 'storage: a decrypted value names another record than the one it was read from';
const DAMAGED_KEYRING = 'the keyring stored in the database is damaged (it cannot be read at all), so the data cannot be decrypted. '
  + 'Restore the database from a backup; JabberX will not replace the keyring.';

/**
 * The sealed value is an envelope { u: user, k?: key, v: value }. Its user and key must be those
 * the caller asked for: with the AAD this is redundant, but it costs a comparison and turns any
 * hash collision or codec misuse into an error instead of another user's data.
 */
function openEnvelope(env: Json, user: string | undefined, key?: string): { u: string; k: string | undefined; v: Json } {
  if (env === null || typeof env !== 'object' || Array.isArray(env) || typeof env['u'] !== 'string' || !Object.hasOwn(env, 'v')) {
    throw new SealError(MISMATCH);
  }
  const k = env['k'];
  if ((user !== undefined && env['u'] !== user) || (k !== undefined && typeof k !== 'string') || (key !== undefined && k !== key)) {
    throw new SealError(MISMATCH);
  }
  return { u: env['u'], k, v: env['v'] as Json };
}

function byKey<V>(entries: [string, V][]): [string, V][] {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export class EncryptedBackend implements StorageBackend {
  readonly kind: string;
  readonly #inner: StorageBackend;
  readonly #masterKey: Uint8Array | (() => Promise<Uint8Array>);
  #ring: Keyring | undefined;
  #opening: Promise<void> | undefined;
  #mutating: Promise<unknown> = Promise.resolve();
  readonly #userCache = new Map<string, string>();
  readonly #log: StorageLog | undefined;
  /** Reads running again after a keyring reload: an unknown data key is damage then, not news. */
  #rereading = 0;
  readonly #damagedSeen = new Set<string>();
  #damagedCount = 0;

  /** Seals with the active data key; opens with whichever data key the value names. */
  readonly #codec: ValueCodec = {
    encode: (plain, aad) => {
      if (aad === KEYRING_AAD) return plain;
      const ring = this.#r;
      return seal(ring.activeKey, ring.activeId, plain, aad);
    },
    decode: (sealed, aad) => {
      if (aad === KEYRING_AAD) return sealed;
      const id = sealedKeyId(sealed);
      const key = this.#r.dataKey(id);
      if (!key) {
        // UnknownDataKeyError is retryable: the inner backend hands it back, #read reloads the
        // keyring and reads again. A key still unknown after that is a damaged header: quarantined.
        if (this.#rereading > 0) throw new SealError(`storage: the value names data key ${id}, which the stored keyring does not hold (damaged)`);
        throw new UnknownDataKeyError(id);
      }
      return unseal(key, sealed, aad);
    },
  };

  constructor(opts: EncryptedBackendOptions) {
    this.#inner = opts.inner(this.#codec);
    this.#masterKey = opts.masterKey;
    this.#log = opts.log;
    this.kind = `encrypted-${this.#inner.kind}`;
  }

  /** Damaged values skipped since this backend was created (here and in the inner backend), each counted once. */
  quarantined(): number {
    return this.#damagedCount + this.#inner.quarantined();
  }

  /**
   * A value that decrypted but names another user or key than its record (only possible after a
   * keyed-hash collision or tampering with the codec): counted once, logged by store, skipped.
   */
  #damaged(kind: 'keyval' | 'map' | 'archive', host: string, store: string, identity: string): void {
    const id = `${kind}\u0000${host}\u0000${store}\u0000${identity}`;
    if (this.#damagedSeen.has(id)) return;
    if (this.#damagedSeen.size < QUARANTINE_TRACKED_MAX) this.#damagedSeen.add(id);
    this.#damagedCount++;
    this.#log?.warn({ store, kind, error: 'SealError', quarantined: this.quarantined() }, 'storage: a stored value could not be opened and is skipped (quarantined)');
  }

  /** openEnvelope, or undefined (quarantined) when the envelope names another record. */
  #envelope(env: Json, user: string | undefined, where: { kind: 'keyval' | 'map' | 'archive'; host: string; store: string; identity: string }, key?: string): { u: string; k: string | undefined; v: Json } | undefined {
    try {
      return openEnvelope(env, user, key);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      this.#damaged(where.kind, where.host, where.store, where.identity);
      return undefined;
    }
  }

  /** The wrapped backend (for backend-specific maintenance such as a WAL checkpoint). */
  get inner(): StorageBackend {
    return this.#inner;
  }

  get #r(): Keyring {
    if (!this.#ring) throw new Error('storage: encrypted backend is not open');
    return this.#ring;
  }

  /** Every call fails when closed, also those that need no key (so closing is visible everywhere). */
  #assertOpen(): void {
    void this.#r;
  }

  #keyringStore(): KeyValueStore<Json> {
    return this.#inner.keyval<Json>(KEYRING_HOST, KEYRING_STORE);
  }

  /**
   * Loads the master key, opens the inner backend and unlocks the keyring, creating it on first
   * start. A wrong key throws KeyError before anything is written.
   */
  async open(): Promise<void> {
    if (this.#ring) return;
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #open(): Promise<void> {
    const owned = typeof this.#masterKey === 'function';
    // The key first: without it there is no reason to touch the database at all.
    const master = typeof this.#masterKey === 'function' ? await this.#masterKey() : this.#masterKey;
    try {
      if (!(master instanceof Uint8Array) || master.length !== MASTER_KEY_BYTES) {
        throw new KeyError(`the master key must be ${MASTER_KEY_BYTES} bytes (256 bits)`);
      }
      await this.#inner.open();
      try {
        const store = this.#keyringStore();
        const stored = await store.get(KEYRING_USER);
        let ring: Keyring;
        if (stored === undefined) {
          // A keyring row that could not be read (quarantined by the inner backend) must never be
          // replaced by a new keyring: that would make every stored value unreadable for good.
          if ((await store.users()).length > 0) throw new KeyError(DAMAGED_KEYRING);
          ring = Keyring.create(master);
          await store.set(KEYRING_USER, ring.toStored());
        } else {
          ring = Keyring.unlock(stored, master);
        }
        this.#ring = ring;
      } catch (err) {
        await this.#inner.close().catch(() => undefined);
        throw err;
      }
    } finally {
      if (owned) master.fill(0);
    }
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    await this.#mutating;
    this.#ring = undefined;
    this.#userCache.clear();
    await this.#inner.close();
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
    Keyring.unlock(await this.#keyringStore().get(KEYRING_USER), newKey);
  }

  /** Adds a new data key and makes it active; values sealed under older keys stay readable. Returns its id. */
  async rotateDataKey(): Promise<number> {
    return (await this.#mutate((ring) => ring.withNewDataKey())).activeId;
  }

  /**
   * Changes the keyring one at a time, starting from what is stored (so a data key added by
   * another process is kept), and swaps the new keyring in only once it is written.
   */
  #mutate(change: (current: Keyring) => Keyring): Promise<Keyring> {
    const run = async (): Promise<Keyring> => {
      const ring = this.#r;
      const store = this.#keyringStore();
      const stored = await store.get(KEYRING_USER);
      const next = change(stored === undefined ? ring : ring.reload(stored));
      await store.set(KEYRING_USER, next.toStored());
      this.#ring = next;
      return next;
    };
    const result = this.#mutating.then(run, run);
    this.#mutating = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs a read; if a value names a data key this process doesn't know (another process rotated
   * the data key), reloads the keyring once and tries again. In that second run a data key that
   * is still unknown marks a damaged value, which the inner backend quarantines.
   */
  async #read<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof UnknownDataKeyError)) throw err;
      const stored = await this.#keyringStore().get(KEYRING_USER);
      if (stored === undefined) throw err;
      this.#ring = this.#r.reload(stored);
      this.#rereading++;
      try {
        return await fn();
      } finally {
        this.#rereading--;
      }
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

  keyval<T extends Json>(host: string, store: string): KeyValueStore<T> {
    checkHost(host);
    checkIdent(store);
    const inner = this.#inner.keyval<Json>(host, store);
    return {
      get: (user) => this.#read(async () => {
        const hashed = this.#user(host, user);
        const env = await inner.get(hashed);
        if (env === undefined) return undefined;
        return this.#envelope(env, user, { kind: 'keyval', host, store, identity: hashed })?.v as T | undefined;
      }),
      set: async (user, value) => inner.set(this.#user(host, user), { u: user, v: value }),
      delete: async (user) => inner.delete(this.#user(host, user)),
      users: () => this.#read(async () => {
        this.#assertOpen();
        const out: string[] = [];
        for (const hashed of await inner.users()) {
          const env = await inner.get(hashed);
          if (env === undefined) continue;
          const opened = this.#envelope(env, undefined, { kind: 'keyval', host, store, identity: hashed });
          if (opened) out.push(opened.u);
        }
        return out.sort();
      }),
    };
  }

  map<T extends Json>(host: string, store: string): MapStore<T> {
    checkHost(host);
    checkIdent(store);
    const inner = this.#inner.map<Json>(host, store);
    return {
      get: (user, key) => this.#read(async () => {
        const hashed = this.#user(host, user);
        const hashedKey = this.#key(host, user, store, key);
        const env = await inner.get(hashed, hashedKey);
        if (env === undefined) return undefined;
        return this.#envelope(env, user, { kind: 'map', host, store, identity: `${hashed}\u0000${hashedKey}` }, key)?.v as T | undefined;
      }),
      set: async (user, key, value) => {
        await inner.set(this.#user(host, user), this.#key(host, user, store, key), { u: user, k: key, v: value });
      },
      delete: async (user, key) => inner.delete(this.#user(host, user), this.#key(host, user, store, key)),
      getAll: (user) => this.#read(async () => {
        const hashed = this.#user(host, user);
        const entries: [string, T][] = [];
        for (const [hashedKey, env] of await inner.getAll(hashed)) {
          const opened = this.#envelope(env, user, { kind: 'map', host, store, identity: `${hashed}\u0000${hashedKey}` });
          if (opened === undefined) continue;
          if (opened.k === undefined) {
            this.#damaged('map', host, store, `${hashed}\u0000${hashedKey}`);
            continue;
          }
          entries.push([opened.k, opened.v as T]);
        }
        return new Map(byKey(entries));
      }),
      deleteAll: async (user) => inner.deleteAll(this.#user(host, user)),
    };
  }

  /** Entry ids and dates come from the inner backend as they are: ids are row numbers, dates stay in clear for purging. */
  archive<T extends Json>(host: string, store: string): ArchiveStore<T> {
    checkHost(host);
    checkIdent(store);
    const inner = this.#inner.archive<Json>(host, store);
    return {
      append: async (user, value, when) => inner.append(this.#user(host, user), { u: user, v: value }, when),
      list: (user, opts) => this.#read(async () => {
        const hashed = this.#user(host, user);
        const out: ArchiveEntry<T>[] = [];
        for (const e of await inner.list(hashed, opts)) {
          const opened = this.#envelope(e.value, user, { kind: 'archive', host, store, identity: `${hashed}\u0000${e.id}` });
          if (opened) out.push({ id: e.id, when: e.when, value: opened.v as T });
        }
        return out;
      }),
      count: async (user) => inner.count(this.#user(host, user)),
      delete: async (user, ids) => inner.delete(this.#user(host, user), ids),
      deleteAll: async (user) => inner.deleteAll(this.#user(host, user)),
      purgeOlderThan: async (cutoff) => {
        this.#assertOpen();
        return inner.purgeOlderThan(cutoff);
      },
    };
  }

  /** The user's portable copy: real store keys and plaintext values. */
  async exportUser(host: string, user: string): Promise<UserExport> {
    checkHost(host);
    return this.#read(async () => {
      const hashed = this.#user(host, user);
      const exp = await this.#inner.exportUser(host, hashed);
      const out: UserExport = { host, user, keyval: {}, map: {}, archive: {} };
      for (const [store, env] of Object.entries(exp.keyval)) {
        const opened = this.#envelope(env, user, { kind: 'keyval', host, store, identity: hashed });
        if (opened) put(out.keyval, store, opened.v);
      }
      for (const [store, values] of Object.entries(exp.map)) {
        const entries: [string, Json][] = [];
        for (const [hashedKey, env] of Object.entries(values)) {
          const where = { kind: 'map' as const, host, store, identity: `${hashed}\u0000${hashedKey}` };
          const opened = this.#envelope(env, user, where);
          if (opened === undefined) continue;
          if (opened.k === undefined) {
            this.#damaged('map', host, store, where.identity);
            continue;
          }
          entries.push([opened.k, opened.v]);
        }
        const m: Record<string, Json> = {};
        for (const [k, v] of byKey(entries)) put(m, k, v);
        put(out.map, store, m);
      }
      for (const [store, entries] of Object.entries(exp.archive)) {
        const kept: UserExport['archive'][string] = [];
        for (const e of entries) {
          const opened = this.#envelope(e.value, user, { kind: 'archive', host, store, identity: `${hashed}\u0000${e.id}` });
          if (opened) kept.push({ id: e.id, when: e.when, value: opened.v });
        }
        put(out.archive, store, kept);
      }
      return out;
    });
  }

  async deleteUser(host: string, user: string): Promise<void> {
    checkHost(host);
    await this.#inner.deleteUser(host, this.#user(host, user));
  }
}
