// Envelope-encryption keyring (key hierarchy as in NIST SP 800-57; HKDF per RFC 5869): random
// 256-bit data keys and one index key, each wrapped with AES-256-GCM under a key derived from the
// master key. Only the wrapped form is stored; the master key itself is never stored.
//
// The index key (for the keyed hashes of user names and map keys) is random and wrapped like the
// data keys rather than derived from the master key: a derived one would change with every master
// key rotation, and then every hashed row would have to be rewritten.
//
// Keyring objects are immutable: a rotation builds a new one, and the caller swaps it in only after
// the new stored form has been written, so a failed write leaves the running keyring as it was.
import { createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { KeyError } from './key-error.ts';
import { SealError, seal, unseal } from './sealing.ts';

export const KEYRING_VERSION = 1;
export const MASTER_KEY_BYTES = 32;
const SALT_BYTES = 32;

/** One wrapped data key as stored. */
export type StoredDataKey = { id: number; created: string; wrapped: string };

/** The keyring as stored in the database (JSON; no secret in clear). */
export type StoredKeyring = {
  v: number;
  /** HKDF salt, new at every master key rotation. */
  salt: string;
  /** Key-check value: tells a wrong master key apart from a damaged keyring. */
  check: string;
  /** The data key new values are sealed with. */
  active: number;
  index: string;
  keys: StoredDataKey[];
};

export interface DataKeyInfo {
  id: number;
  created: Date;
}

/** What a master key yields for one keyring salt. */
interface MasterDerived {
  salt: Buffer;
  check: Buffer;
  wrapKey: KeyObject;
}

interface KeyringParts {
  master: MasterDerived;
  indexKey: KeyObject;
  dataKeys: ReadonlyMap<number, { key: KeyObject; created: Date }>;
  activeId: number;
}

const WRONG_KEY = 'the master key does not match this database: it is not the key the data was encrypted with. '
  + 'Nothing was changed. Supply the right key (or the new one, if the key was rotated) and start again.';
const DAMAGED = 'the keyring stored in the database is damaged, so the data cannot be decrypted. '
  + 'Nothing was changed. Restore the database from a backup.';

function checkMasterKey(master: Uint8Array): void {
  if (!(master instanceof Uint8Array) || master.length !== MASTER_KEY_BYTES) {
    throw new KeyError(`the master key must be ${MASTER_KEY_BYTES} bytes (256 bits)`);
  }
}

function hkdf(master: Uint8Array, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, info, 32));
}

function derive(master: Uint8Array, salt: Buffer): MasterDerived {
  checkMasterKey(master);
  const wrapBytes = hkdf(master, salt, 'jabberx keyring wrap v1');
  const wrapKey = createSecretKey(wrapBytes);
  wrapBytes.fill(0);
  return { salt, check: hkdf(master, salt, 'jabberx keyring check v1'), wrapKey };
}

// Distinct AADs: a wrapped key can't be swapped for another one (or the index key) unnoticed.
const dataKeyAad = (id: number): string => `jabberx keyring\u0000data\u0000${id}`;
const INDEX_AAD = 'jabberx keyring\u0000index';

function wrap(m: MasterDerived, key: KeyObject, aad: string): string {
  const raw = key.export();
  try {
    return seal(m.wrapKey, 0, raw, aad).toString('base64');
  } finally {
    raw.fill(0);
  }
}

function unwrap(m: MasterDerived, wrapped: string, aad: string): KeyObject {
  let raw: Buffer;
  try {
    raw = unseal(m.wrapKey, Buffer.from(wrapped, 'base64'), aad);
  } catch (err) {
    if (err instanceof SealError) throw new KeyError(DAMAGED);
    throw err;
  }
  try {
    if (raw.length !== 32) throw new KeyError(DAMAGED);
    return createSecretKey(raw);
  } finally {
    raw.fill(0);
  }
}

function newKey(): KeyObject {
  const raw = randomBytes(32);
  const key = createSecretKey(raw);
  raw.fill(0);
  return key;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isB64 = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffff_ffff;

/** Checks the shape of a stored keyring; throws KeyError if it can't be one. */
function parseStored(stored: unknown): StoredKeyring {
  if (!isObj(stored) || typeof stored['v'] !== 'number') throw new KeyError(DAMAGED);
  if (stored['v'] > KEYRING_VERSION) {
    throw new KeyError(`the keyring in the database was written by a newer JabberX (format ${stored['v']}); upgrade JabberX. Nothing was changed.`);
  }
  const { salt, check, active, index, keys } = stored;
  if (stored['v'] !== KEYRING_VERSION || !isB64(salt) || !isB64(check) || !isId(active) || !isB64(index) || !Array.isArray(keys)) {
    throw new KeyError(DAMAGED);
  }
  const seen = new Set<number>();
  for (const k of keys as unknown[]) {
    if (!isObj(k) || !isId(k['id']) || !isB64(k['wrapped']) || typeof k['created'] !== 'string' || seen.has(k['id'])) {
      throw new KeyError(DAMAGED);
    }
    seen.add(k['id']);
  }
  if (!seen.has(active)) throw new KeyError(DAMAGED);
  return { v: KEYRING_VERSION, salt, check, active, index, keys: keys as StoredDataKey[] };
}

export class Keyring {
  readonly #m: MasterDerived;
  readonly #dataKeys: ReadonlyMap<number, { key: KeyObject; created: Date }>;
  /** The data key new values are sealed with. */
  readonly activeId: number;
  readonly activeKey: KeyObject;
  /** The HMAC key for hashing user names and map keys. */
  readonly indexKey: KeyObject;

  /** Internal: use Keyring.create or Keyring.unlock. */
  constructor(parts: KeyringParts) {
    const active = parts.dataKeys.get(parts.activeId);
    if (!active) throw new Error('keyring: the active data key is missing');
    this.#m = parts.master;
    this.#dataKeys = parts.dataKeys;
    this.activeId = parts.activeId;
    this.activeKey = active.key;
    this.indexKey = parts.indexKey;
  }

  /** A new keyring (first start): one data key, a new index key, wrapped under master. */
  static create(master: Uint8Array, now: Date = new Date()): Keyring {
    return new Keyring({
      master: derive(master, randomBytes(SALT_BYTES)),
      indexKey: newKey(),
      dataKeys: new Map([[1, { key: newKey(), created: now }]]),
      activeId: 1,
    });
  }

  /** Opens a stored keyring; KeyError if master is not its key or it is damaged. */
  static unlock(stored: unknown, master: Uint8Array): Keyring {
    checkMasterKey(master);
    const s = parseStored(stored);
    const m = derive(master, Buffer.from(s.salt, 'base64'));
    const check = Buffer.from(s.check, 'base64');
    if (check.length !== m.check.length || !timingSafeEqual(check, m.check)) throw new KeyError(WRONG_KEY);
    return Keyring.#unwrapAll(s, m);
  }

  static #unwrapAll(s: StoredKeyring, m: MasterDerived): Keyring {
    const dataKeys = new Map<number, { key: KeyObject; created: Date }>();
    for (const k of s.keys) {
      const created = new Date(k.created);
      dataKeys.set(k.id, { key: unwrap(m, k.wrapped, dataKeyAad(k.id)), created: Number.isNaN(created.getTime()) ? new Date(0) : created });
    }
    return new Keyring({ master: m, indexKey: unwrap(m, s.index, INDEX_AAD), dataKeys, activeId: s.active });
  }

  /**
   * Opens a keyring that another writer (another process, or a rotation in this one) stored,
   * using this keyring's master-derived key: works as long as the master key was not rotated
   * since. Used to pick up data keys added elsewhere, and before changing the keyring, so a
   * change made elsewhere is built upon rather than overwritten.
   */
  reload(stored: unknown): Keyring {
    const s = parseStored(stored);
    const check = Buffer.from(s.check, 'base64');
    if (s.salt !== this.#m.salt.toString('base64') || check.length !== this.#m.check.length || !timingSafeEqual(check, this.#m.check)) {
      throw new KeyError('the master key was rotated by another process; restart JabberX with the new master key');
    }
    const next = Keyring.#unwrapAll(s, this.#m);
    // The index key never changes: a different one would make every stored name unreachable.
    if (!next.indexKey.equals(this.indexKey)) throw new KeyError(DAMAGED);
    return next;
  }

  /** The same keys plus a new data key, which becomes active. */
  withNewDataKey(now: Date = new Date()): Keyring {
    const id = Math.max(...this.#dataKeys.keys()) + 1;
    if (id > 0xffff_ffff) throw new Error('keyring: no data key id left');
    const dataKeys = new Map(this.#dataKeys);
    dataKeys.set(id, { key: newKey(), created: now });
    return new Keyring({ master: this.#m, indexKey: this.indexKey, dataKeys, activeId: id });
  }

  /** The same keys, wrapped under a new master key (with a new salt). */
  rewrapped(newMaster: Uint8Array): Keyring {
    return new Keyring({
      master: derive(newMaster, randomBytes(SALT_BYTES)),
      indexKey: this.indexKey,
      dataKeys: this.#dataKeys,
      activeId: this.activeId,
    });
  }

  /** The data key with this id, if the keyring holds it. */
  dataKey(id: number): KeyObject | undefined {
    return this.#dataKeys.get(id)?.key;
  }

  dataKeys(): DataKeyInfo[] {
    return [...this.#dataKeys].map(([id, { created }]) => ({ id, created })).sort((a, b) => a.id - b.id);
  }

  /** The stored form: every key wrapped under the master-derived key. */
  toStored(): StoredKeyring {
    return {
      v: KEYRING_VERSION,
      salt: this.#m.salt.toString('base64'),
      check: this.#m.check.toString('base64'),
      active: this.activeId,
      index: wrap(this.#m, this.indexKey, INDEX_AAD),
      keys: this.dataKeys().map(({ id, created }) => ({
        id,
        created: created.toISOString(),
        wrapped: wrap(this.#m, this.#dataKeys.get(id)?.key as KeyObject, dataKeyAad(id)),
      })),
    };
  }
}
