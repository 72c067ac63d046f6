// Offline messages handed to a session with stream management stay stored until the client
// acknowledges them (XEP-0198): a connection that dies first loses nothing. This keeps which
// stored messages are out with a session, and deletes acknowledged ones in batches (one <a/>
// acknowledges many at once).

export class InFlight {
  /** user -> ids of stored messages sent and not yet acknowledged. */
  readonly #out = new Map<string, Set<string>>();
  /** user -> ids acknowledged, waiting for the next batched delete. */
  readonly #acked = new Map<string, string[]>();
  #flushing = false;
  readonly #remove: (user: string, ids: string[]) => Promise<void>;

  constructor(remove: (user: string, ids: string[]) => Promise<void>) {
    this.#remove = remove;
  }

  has(user: string, id: string): boolean {
    return this.#out.get(user)?.has(id) ?? false;
  }

  /** How many of the user's stored messages are out with a session. */
  count(user: string): number {
    return this.#out.get(user)?.size ?? 0;
  }

  add(user: string, id: string): void {
    let ids = this.#out.get(user);
    if (!ids) this.#out.set(user, (ids = new Set()));
    ids.add(id);
  }

  /** The client acknowledged it (true) or its session ended first (false: it stays stored). */
  settled(user: string, id: string, acknowledged: boolean): void {
    const ids = this.#out.get(user);
    ids?.delete(id);
    if (ids?.size === 0) this.#out.delete(user);
    if (!acknowledged) return;
    const batch = this.#acked.get(user);
    if (batch) batch.push(id);
    else this.#acked.set(user, [id]);
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => void this.#flush());
    }
  }

  /** The account is gone: nothing of it is out any more. */
  forget(user: string): void {
    this.#out.delete(user);
    this.#acked.delete(user);
  }

  async #flush(): Promise<void> {
    const batches = [...this.#acked];
    this.#acked.clear();
    this.#flushing = false;
    for (const [user, ids] of batches) await this.#remove(user, ids);
  }
}
