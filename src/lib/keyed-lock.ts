// Serializes async work per key (e.g. per user), so read-modify-write changes never interleave.

export class KeyedLock {
  /** key -> tail of that key's queue. */
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs fn after every earlier fn of the same key has settled; other keys run freely. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with work queued (for tests: the map must not grow without bound). */
  get size(): number {
    return this.#tails.size;
  }
}
