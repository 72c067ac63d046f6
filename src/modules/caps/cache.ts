// Verified XEP-0115 capabilities, by 'ver' hash: what each kind of client supports. Bounded, least
// recently used out first; memory only (it is rebuilt by asking clients again).

export class CapsCache {
  readonly #byVer = new Map<string, ReadonlySet<string>>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(ver: string): ReadonlySet<string> | undefined {
    const features = this.#byVer.get(ver);
    if (features) {
      // Refreshed as most recently used.
      this.#byVer.delete(ver);
      this.#byVer.set(ver, features);
    }
    return features;
  }

  set(ver: string, features: ReadonlySet<string>): void {
    this.#byVer.delete(ver);
    if (this.#byVer.size >= this.#max) {
      const oldest = this.#byVer.keys().next().value;
      if (oldest !== undefined) this.#byVer.delete(oldest);
    }
    this.#byVer.set(ver, features);
  }

  get size(): number {
    return this.#byVer.size;
  }
}
