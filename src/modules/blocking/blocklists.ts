// XEP-0191 §3.3: "The block remains in force ... across sessions": blocklists are stored, and
// cached because every stanza to or from a local account is checked against one.
import { KeyedLock } from '../../lib/keyed-lock.ts';
import type { KeyValueStore } from '../../core/storage.ts';

/** Accounts whose list stays in memory; the least recently used beyond this are reloaded on demand. */
const CACHE_SIZE = 10_000;

export class Blocklists {
  readonly #store: KeyValueStore<string[]>;
  /** user -> blocked JIDs; Map order is recency of use (re-inserted on every hit). */
  readonly #cache = new Map<string, ReadonlySet<string>>();
  /** user -> tail of that user's queue of changes. */
  readonly #locks = new KeyedLock();

  constructor(store: KeyValueStore<string[]>) {
    this.#store = store;
  }

  async get(user: string): Promise<ReadonlySet<string>> {
    const hit = this.#cache.get(user);
    if (hit) {
      this.#cache.delete(user);
      this.#cache.set(user, hit);
      return hit;
    }
    const items: ReadonlySet<string> = new Set(await this.#store.get(user));
    // A change saved while we were reading is newer than what we read.
    const changed = this.#cache.get(user);
    if (changed) return changed;
    this.#remember(user, items);
    return items;
  }

  /** Replaces the list; an empty list leaves nothing stored. Call inside `lock(user)`. */
  async set(user: string, items: ReadonlySet<string>): Promise<void> {
    if (items.size === 0) await this.#store.delete(user);
    else await this.#store.set(user, [...items]);
    this.#remember(user, items);
  }

  forget(user: string): void {
    this.#cache.delete(user);
  }

  /** Runs one user's read-modify-write changes one after another. */
  lock<T>(user: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(user, fn);
  }


  #remember(user: string, items: ReadonlySet<string>): void {
    this.#cache.delete(user);
    this.#cache.set(user, items);
    if (this.#cache.size > CACHE_SIZE) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }
}
