// Transactions of the storage layer (the Transaction interface of src/core/storage.ts), for any
// ByteBackend: reads go to the backend (and remember the bytes they saw), writes are sealed at
// once and kept; the commit is one ByteBackend.write with every write and, as its conditions,
// every record read with the bytes it held. A record changed by another writer in between makes
// the commit fail whole (WriteConflictError), and the storage runs the transaction again.
import type {
  ByteBackend, Json, KeyValueStore, MapStore, OwnerScope, RecordCheck, RecordKind, RecordRef,
  RecordWrite, Transaction, TxKeyValueStore, TxMapStore,
} from '../core/storage.ts';

/** Which store a store handle is: what its storage knows of it. */
export interface StoreBinding {
  readonly kind: RecordKind;
  readonly host: string;
  readonly store: string;
}

/** What a transaction needs of its storage: names, sealing and opening as the stores do them. */
export interface TxContext {
  readonly backend: ByteBackend;
  /** The binding of a handle this storage made, else undefined. */
  binding(handle: object): StoreBinding | undefined;
  /** The stored (hashed) address of a record. keyval: key ''. */
  ref(b: StoreBinding, user: string, key: string): RecordRef;
  /** The stored (hashed) owner name of a user. */
  owner(b: StoreBinding, user: string): string;
  seal(ref: RecordRef, user: string, key: string | undefined, value: Json): Uint8Array;
  /** The value, or undefined when damaged (quarantined). */
  open(ref: RecordRef, bytes: Uint8Array, user: string, key: string | undefined): Json | undefined;
}

const refId = (r: RecordRef): string => JSON.stringify([r.host, r.kind, r.store, r.owner, r.key]);
const scopeId = (s: OwnerScope): string => JSON.stringify([s.host, s.kind, s.store, s.owner]);

export class StoreTransaction implements Transaction {
  readonly #cx: TxContext;
  readonly #writes: RecordWrite[] = [];
  /** The bytes each record held when this transaction first read it from the backend. */
  readonly #checks = new Map<string, RecordCheck>();
  /** Records written here, by refId: the value's JSON text (undefined: deleted) and the record's scopeId. */
  readonly #written = new Map<string, { text: string | undefined; scope: string }>();
  /** Owner scopes cleared here: their records read as absent unless written afterwards. */
  readonly #cleared = new Set<string>();
  #done = false;

  constructor(cx: TxContext) {
    this.#cx = cx;
  }

  #bind(handle: object, kind: RecordKind): StoreBinding {
    const b = this.#cx.binding(handle);
    if (!b || b.kind !== kind) throw new TypeError(`storage: a transaction takes ${kind} stores of its own storage only`);
    return b;
  }

  #assertOpen(): void {
    if (this.#done) throw new Error('storage: the transaction has ended');
  }

  async #get(b: StoreBinding, user: string, key: string, mapKey: string | undefined): Promise<Json | undefined> {
    this.#assertOpen();
    const ref = this.#cx.ref(b, user, key);
    const id = refId(ref);
    const written = this.#written.get(id);
    if (written) return written.text === undefined ? undefined : (JSON.parse(written.text) as Json);
    if (this.#cleared.has(scopeId(ref))) return undefined;
    const bytes = await this.#cx.backend.get(ref);
    if (!this.#checks.has(id)) this.#checks.set(id, { ref, expected: bytes });
    return bytes === undefined ? undefined : this.#cx.open(ref, bytes, user, mapKey);
  }

  #set(b: StoreBinding, user: string, key: string, mapKey: string | undefined, value: Json): void {
    this.#assertOpen();
    const ref = this.#cx.ref(b, user, key);
    this.#writes.push({ op: 'put', ref, value: this.#cx.seal(ref, user, mapKey, value) });
    this.#written.set(refId(ref), { text: JSON.stringify(value), scope: scopeId(ref) });
  }

  #delete(b: StoreBinding, user: string, key: string): void {
    this.#assertOpen();
    const ref = this.#cx.ref(b, user, key);
    this.#writes.push({ op: 'delete', ref });
    this.#written.set(refId(ref), { text: undefined, scope: scopeId(ref) });
  }

  #clear(b: StoreBinding, user: string): void {
    this.#assertOpen();
    const scope: OwnerScope = { host: b.host, kind: b.kind, store: b.store, owner: this.#cx.owner(b, user) };
    this.#writes.push({ op: 'clear', scope });
    const id = scopeId(scope);
    this.#cleared.add(id);
    for (const [ref, w] of this.#written) if (w.scope === id) this.#written.delete(ref);
  }

  keyval<T>(store: KeyValueStore<T>): TxKeyValueStore<T> {
    const b = this.#bind(store, 'keyval');
    return {
      get: async (user) => (await this.#get(b, user, '', undefined)) as T | undefined,
      set: (user, value) => this.#set(b, user, '', undefined, value as Json),
      delete: (user) => this.#delete(b, user, ''),
    };
  }

  map<T>(store: MapStore<T>): TxMapStore<T> {
    const b = this.#bind(store, 'map');
    return {
      get: async (user, key) => (await this.#get(b, user, key, key)) as T | undefined,
      set: (user, key, value) => this.#set(b, user, key, key, value as Json),
      delete: (user, key) => this.#delete(b, user, key),
      deleteAll: (user) => this.#clear(b, user),
    };
  }

  /** Stores the writes, on condition that every record read is unchanged; ends the transaction. */
  async commit(): Promise<void> {
    this.#assertOpen();
    this.#done = true;
    if (this.#writes.length === 0) return;
    await this.#cx.backend.write(this.#writes, [...this.#checks.values()]);
  }

  /** Ends the transaction without writing anything. */
  abandon(): void {
    this.#done = true;
  }
}
