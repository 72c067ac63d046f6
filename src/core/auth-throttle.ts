// Brute-force protection for SASL (the privacy policy's one exception to "no IP addresses"):
// failed logins are counted per peer address and per account, in memory only, and forgotten
// when their window ends. Nothing here is logged or stored: an observer is told of each counted
// failure and lockout (src/core/failed-login-report.ts decides what reaches which log).

import { addressKey } from './address-key.ts';

export { addressKey };

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

/** What the throttle tells its observer; `address` is the peer's as given, never stored here. */
export interface ThrottleObserver {
  /** A counted failure: wrong credentials (address and account) or a channel-binding mismatch (account only). */
  failed(event: { address: string | undefined; account: string | undefined; accountFailures: number; kind: 'credentials' | 'channel-binding' }): void;
  /** An address (IPv6: its /64) reached failed_login_max_per_address: refused until `until`; `account` is the one it last tried. */
  addressLocked(event: { address: string | undefined; account: string | undefined; failures: number; until: number }): void;
  /** An account reached failed_login_max_per_account: addresses that failed are refused for it until `until`. */
  accountLocked(event: { account: string; failures: number; until: number }): void;
}

/** One throttle record, as `jabberx throttle list` shows it to the operator. */
export interface ThrottleEntry {
  /** An account (user@host), or an address key (IPv4, or an IPv6 /64). */
  key: string;
  failures: number;
  /** When the record is forgotten (ms since epoch). */
  expires: number;
  /** Refused now: an address over its limit, or an account over its limit (for addresses that failed). */
  locked: boolean;
}

export type Verdict = { refuse: true } | { refuse: false; delayMs: number };

const MAX_DELAY_MS = 4000;

export class AuthThrottle {
  readonly #opts: ThrottleOptions;
  readonly #byAddress = new Map<string, Entry>();
  readonly #byAccount = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  readonly #observer: ThrottleObserver | undefined;

  constructor(opts: ThrottleOptions, observer?: ThrottleObserver) {
    this.#opts = opts;
    this.#observer = observer;
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
    const byAddress = this.#bump(this.#byAddress, addressKey(address), now);
    const byAccount = account ? this.#bump(this.#byAccount, account, now) : undefined;
    const o = this.#observer;
    if (!o) return;
    o.failed({ address, account, accountFailures: byAccount?.failures ?? 0, kind: 'credentials' });
    if (byAddress.failures === this.#opts.maxPerAddress) o.addressLocked({ address, account, failures: byAddress.failures, until: byAddress.expires });
    if (account && byAccount?.failures === this.#opts.maxPerAccount) o.accountLocked({ account, failures: byAccount.failures, until: byAccount.expires });
  }

  /** A failure that says nothing about the address (a channel-binding mismatch): the account only. */
  failedAccount(account: string, now = Date.now()): void {
    const e = this.#bump(this.#byAccount, account, now);
    this.#observer?.failed({ address: undefined, account, accountFailures: e.failures, kind: 'channel-binding' });
    if (e.failures === this.#opts.maxPerAccount) this.#observer?.accountLocked({ account, failures: e.failures, until: e.expires });
  }

  #bump(map: Map<string, Entry>, key: string, now: number): Entry {
    const e = this.#live(map, key, now);
    if (e) {
      e.failures++;
      return e;
    }
    const fresh = { failures: 1, expires: now + this.#opts.windowMs };
    map.set(key, fresh);
    return fresh;
  }

  /** Every live record, for the operator (`jabberx throttle list`): addresses and accounts. */
  entries(now = Date.now()): { addresses: ThrottleEntry[]; accounts: ThrottleEntry[] } {
    this.sweep(now);
    const list = (map: Map<string, Entry>, max: number) => [...map].map(([key, e]) => ({ key, failures: e.failures, expires: e.expires, locked: e.failures >= max }));
    return { addresses: list(this.#byAddress, this.#opts.maxPerAddress), accounts: list(this.#byAccount, this.#opts.maxPerAccount) };
  }

  /** Forgets an account's record (user@host) or an address's (IPv6: its /64); false when there was none. */
  clear(target: { account: string } | { address: string }): boolean {
    return 'account' in target ? this.#byAccount.delete(target.account) : this.#byAddress.delete(addressKey(target.address));
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
