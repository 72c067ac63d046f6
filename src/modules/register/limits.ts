// How many accounts one address and one network range may register per window, in memory only
// and never logged: the addresses are forgotten when their window ends.

export interface RegistrationLimitOptions {
  windowMs: number;
  maxPerAddress: number;
  /** Per IPv4 /24 or IPv6 /48: one network's many addresses. */
  maxPerRange: number;
  /** Records kept at most; the oldest go first when it is reached. */
  maxEntries: number;
}

interface Entry {
  count: number;
  expires: number;
}

/** An IPv4 address as is, IPv6 as its eight groups (IPv4-mapped IPv6 counts as IPv4). */
function parts(address: string | undefined): { v4: string } | { v6: string[] } | undefined {
  if (!address) return undefined;
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return { v4: a.slice(7) };
  if (!a.includes(':')) return { v4: a };
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return { v6: groups.map((g) => g.replace(/^0+(?=.)/, '')) };
}

/** One subscriber: an IPv4 address, an IPv6 /64. */
export function addressKey(address: string | undefined): string {
  const p = parts(address);
  if (!p) return '?';
  return 'v4' in p ? p.v4 : p.v6.slice(0, 4).join(':') + '::/64';
}

/** One network: an IPv4 /24, an IPv6 /48. */
export function rangeKey(address: string | undefined): string {
  const p = parts(address);
  if (!p) return '?';
  return 'v4' in p ? p.v4.split('.').slice(0, 3).join('.') + '.0/24' : p.v6.slice(0, 3).join(':') + '::/48';
}

export class RegistrationLimits {
  readonly #opts: RegistrationLimitOptions;
  /** Address and range records in one map, insertion-ordered so the oldest are dropped first. */
  readonly #entries = new Map<string, Entry>();

  constructor(opts: RegistrationLimitOptions) {
    this.#opts = opts;
  }

  #live(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && e.expires <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Whether this address may register now: 'address' or 'range' when a limit is reached. */
  check(address: string | undefined, now = Date.now()): 'address' | 'range' | undefined {
    if ((this.#live('a ' + addressKey(address), now)?.count ?? 0) >= this.#opts.maxPerAddress) return 'address';
    if ((this.#live('r ' + rangeKey(address), now)?.count ?? 0) >= this.#opts.maxPerRange) return 'range';
    return undefined;
  }

  /** Counts a registration made from this address. */
  count(address: string | undefined, now = Date.now()): void {
    for (const key of ['a ' + addressKey(address), 'r ' + rangeKey(address)]) {
      const e = this.#live(key, now);
      if (e) {
        e.count++;
        continue;
      }
      this.#sweep(now);
      this.#entries.set(key, { count: 1, expires: now + this.#opts.windowMs });
    }
  }

  /** Drops expired records, then the oldest while at the bound. */
  #sweep(now: number): void {
    if (this.#entries.size < this.#opts.maxEntries) return;
    for (const [k, e] of this.#entries) if (e.expires <= now) this.#entries.delete(k);
    for (const k of this.#entries.keys()) {
      if (this.#entries.size < this.#opts.maxEntries) break;
      this.#entries.delete(k);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
