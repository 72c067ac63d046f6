// The record rules of the storage layer (src/storage/encrypted.ts), apart from the keys: how a
// value becomes bytes (a JSON envelope naming its real user and key), what binds sealed bytes to
// their record (the AAD), which identifiers are allowed, and how damaged values are quarantined.
// They hold for every ByteBackend alike; no backend repeats them.
import { createHmac, type KeyObject } from 'node:crypto';
import type { Json, RecordRef, StorageLog } from '../core/storage.ts';
import { SealError } from './encryption/sealing.ts';

export type StoreKind = 'keyval' | 'map' | 'archive';

/**
 * The associated data that binds a sealed value to its record: kind, host, hashed user, store,
 * and the hashed key (map), '' (keyval) or the entry id (archive). A value copied into another
 * record fails to open.
 */
export function recordAad(kind: StoreKind, host: string, owner: string, store: string, key: string): string {
  return `${kind}\u0000${host}\u0000${owner}\u0000${store}\u0000${key}`;
}

export function refAad(ref: RecordRef): string {
  return recordAad(ref.kind, ref.host, ref.owner, ref.store, ref.key);
}

/**
 * Identifiers (host, user, store, key) are joined with NUL in the AAD and in the hashed input, so
 * a NUL inside one would let two different records share them; lone surrogates would be replaced
 * when converted to UTF-8 and alias other strings. Neither occurs in valid JIDs or namespaces.
 */
export function checkIdent(...idents: string[]): void {
  for (const s of idents) {
    if (typeof s !== 'string' || s.includes('\u0000') || !s.isWellFormed()) {
      throw new TypeError('storage: identifiers must be well-formed strings without NUL');
    }
  }
}

/** Base64url characters kept of a keyed hash: 192 bits, far beyond any collision risk. */
const HASH_CHARS = 32;

export function keyedHash(key: KeyObject, input: string): string {
  return createHmac('sha256', key).update(input, 'utf8').digest('base64url').slice(0, HASH_CHARS);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A value as stored before sealing: { u: user, k?: key, v: value }, as JSON text. */
export function encodeEnvelope(user: string, key: string | undefined, value: Json): Uint8Array {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError('storage: value is not JSON-serializable');
  // The same text as JSON.stringify({ u, k, v }), without serializing the value twice.
  const head = key === undefined ? `{"u":${JSON.stringify(user)}` : `{"u":${JSON.stringify(user)},"k":${JSON.stringify(key)}`;
  return encoder.encode(`${head},"v":${text}}`);
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses JSON bytes; throws (TypeError, SyntaxError) on bytes that are not UTF-8 JSON. */
export function decodeJson(bytes: Uint8Array): Json {
  return JSON.parse(decoder.decode(bytes)) as Json;
}

export interface Envelope {
  u: string;
  k: string | undefined;
  v: Json;
}

const MISMATCH = 'storage: a decrypted value names another record than the one it was read from';

/**
 * Opens the envelope of a value read from a record. Its user and key must be those the caller
 * asked for (when given): with the AAD this is redundant, but it costs a comparison and turns any
 * hash collision or misuse into a damaged value instead of another user's data.
 */
export function openEnvelope(bytes: Uint8Array, user: string | undefined, key: string | undefined, keyRequired: boolean): Envelope {
  const env = decodeJson(bytes);
  if (env === null || typeof env !== 'object' || Array.isArray(env) || typeof env['u'] !== 'string' || !Object.hasOwn(env, 'v')) {
    throw new SealError(MISMATCH);
  }
  const k = env['k'];
  if ((user !== undefined && env['u'] !== user) || (k !== undefined && typeof k !== 'string')
    || (key !== undefined && k !== key) || (keyRequired && k === undefined)) {
    throw new SealError(MISMATCH);
  }
  return { u: env['u'], k, v: env['v'] as Json };
}

/** Damaged records remembered (so each is counted and logged once); past this, each read counts. */
const QUARANTINE_TRACKED_MAX = 10_000;

/**
 * Counts and logs damaged values: each record once (by its stored identity), with its store and
 * kind only, never a user, a key or content; the error by name only (a JSON SyntaxError's message
 * quotes the text it failed on).
 */
export class Quarantine {
  readonly #seen = new Set<string>();
  readonly #log: StorageLog | undefined;
  #count = 0;

  constructor(log: StorageLog | undefined) {
    this.#log = log;
  }

  get count(): number {
    return this.#count;
  }

  add(err: unknown, kind: StoreKind, host: string, store: string, identity: string): void {
    const id = `${kind}\u0000${host}\u0000${store}\u0000${identity}`;
    if (this.#seen.has(id)) return;
    if (this.#seen.size < QUARANTINE_TRACKED_MAX) this.#seen.add(id);
    this.#count++;
    const error = err instanceof Error ? err.name : typeof err;
    this.#log?.warn({ store, kind, error, quarantined: this.#count }, 'storage: a stored value could not be opened and is skipped (quarantined)');
  }
}

/** Assigns an own enumerable property even for names like "__proto__" (store names are data). */
export function put<V>(obj: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function byKey<V>(entries: [string, V][]): [string, V][] {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
