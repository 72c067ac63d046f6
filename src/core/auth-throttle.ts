// Brute-force protection for SASL (the privacy policy's one exception to "no IP addresses"):
// failed logins are counted per peer address and per account, in memory only, and forgotten
// when their window ends. Nothing here is logged or stored.

export interface ThrottleOptions {
  /** How long a failure is remembered. */
  windowMs: number;
  /** Failures from one address before each further answer is delayed. */
  delayAfter: number;
  /** Failures from one address before it is refused until the window ends. */
  maxPerAddress: number;
  /** Failures for one account before addresses that have failed are refused for it. */
  maxPerAccount: number;
}

interface Entry {
  failures: number;
  expires: number;
}

export type Verdict = { refuse: true } | { refuse: false; delayMs: number };

const MAX_DELAY_MS = 4000;

/** IPv6 peers are counted per /64 (one subscriber's range); IPv4-mapped IPv6 as IPv4. */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

export class AuthThrottle {
  readonly #opts: ThrottleOptions;
  readonly #byAddress = new Map<string, Entry>();
  readonly #byAccount = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;

  constructor(opts: ThrottleOptions) {
    this.#opts = opts;
    this.#timer = setInterval(() => this.sweep(), Math.min(opts.windowMs, 60_000));
    this.#timer.unref();
  }

  #live(map: Map<string, Entry>, key: string, now: number): Entry | undefined {
    const e = map.get(key);
    if (e && e.expires <= now) {
      map.delete(key);
      return undefined;
    }
    return e;
  }

  /** Before an authentication attempt from this address. */
  check(address: string | undefined, now = Date.now()): Verdict {
    const e = this.#live(this.#byAddress, addressKey(address), now);
    if (!e) return { refuse: false, delayMs: 0 };
    if (e.failures >= this.#opts.maxPerAddress) return { refuse: true };
    const over = e.failures - this.#opts.delayAfter;
    return { refuse: false, delayMs: over < 0 ? 0 : Math.min(MAX_DELAY_MS, 250 * 2 ** over) };
  }

  /** True when the account is under attack and this address is one that has failed. */
  accountLocked(account: string, address: string | undefined, now = Date.now()): boolean {
    const acc = this.#live(this.#byAccount, account, now);
    if (!acc || acc.failures < this.#opts.maxPerAccount) return false;
    return this.#live(this.#byAddress, addressKey(address), now) !== undefined;
  }

  failed(address: string | undefined, account: string | undefined, now = Date.now()): void {
    this.#bump(this.#byAddress, addressKey(address), now);
    if (account) this.#bump(this.#byAccount, account, now);
  }

  /** A failure that says nothing about the address (a channel-binding mismatch): the account only. */
  failedAccount(account: string, now = Date.now()): void {
    this.#bump(this.#byAccount, account, now);
  }

  #bump(map: Map<string, Entry>, key: string, now: number): void {
    const e = this.#live(map, key, now);
    if (e) e.failures++;
    else map.set(key, { failures: 1, expires: now + this.#opts.windowMs });
  }

  /** Drops expired records; runs on its own timer. */
  sweep(now = Date.now()): void {
    for (const map of [this.#byAddress, this.#byAccount]) for (const [k, e] of map) if (e.expires <= now) map.delete(k);
  }

  /** Counts only (for the retention report and tests): never the addresses. */
  get size(): { addresses: number; accounts: number } {
    return { addresses: this.#byAddress.size, accounts: this.#byAccount.size };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
