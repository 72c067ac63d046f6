// Counts requests per key in a fixed window, in memory only and bounded: reset mails per account,
// per address (its keyed hash) and per client address, so nobody can flood a mailbox.

/** Keys remembered at most; past this the oldest record is forgotten. */
export const MAX_LIMIT_RECORDS = 10_000;

export class RequestLimits {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #records = new Map<string, { count: number; expires: number }>();

  constructor(max: number, windowMs: number) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  /** Counts a request for every key; false (and nothing counted) when any of them is over its limit. */
  allow(keys: readonly string[], now = Date.now()): boolean {
    const live = keys.map((k) => {
      const r = this.#records.get(k);
      return r && r.expires > now ? r : undefined;
    });
    if (live.some((r) => r && r.count >= this.#max)) return false;
    keys.forEach((k, i) => {
      const r = live[i];
      if (r) r.count++;
      else {
        this.#records.delete(k);
        while (this.#records.size >= MAX_LIMIT_RECORDS) {
          const oldest = this.#records.keys().next().value;
          if (oldest === undefined) break;
          this.#records.delete(oldest);
        }
        this.#records.set(k, { count: 1, expires: now + this.#windowMs });
      }
    });
    return true;
  }

  sweep(now = Date.now()): void {
    for (const [k, r] of this.#records) if (r.expires <= now) this.#records.delete(k);
  }
}
