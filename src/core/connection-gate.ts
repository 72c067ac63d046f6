// Admission of new client connections before anyone is known (issue 7): a connection rate and a
// cap on unauthenticated connections per address (IPv6: per /64), and a server-wide cap on
// unauthenticated connections. In memory only; addresses are never logged or stored.
import { addressKey } from './auth-throttle.ts';

export interface GateOptions {
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  /** Average new connections per second from one address. */
  ratePerAddress: number;
  /** New connections one address may open at once. */
  burstPerAddress: number;
}

/** Why a connection is refused, as the stream error it gets. */
export type Refusal = { condition: 'policy-violation' | 'resource-constraint'; text: string };

/** One admitted connection: tell the gate when it authenticates and when it closes. */
export interface GateTicket {
  authenticated(): void;
  closed(): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets are dropped when full again; this bounds the map under a flood of distinct addresses. */
const MAX_BUCKETS = 100_000;

export class ConnectionGate {
  readonly #opts: GateOptions;
  readonly #buckets = new Map<string, Bucket>();
  readonly #unauthByAddress = new Map<string, number>();
  #unauth = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: GateOptions) {
    this.#opts = opts;
    // Refilled buckets are forgotten, so nothing about an address outlives its burst for long.
    this.#timer = setInterval(() => this.sweep(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Counts only, for status and tests. */
  get unauthenticated(): number {
    return this.#unauth;
  }

  /** Admits or refuses a new connection from `address`. */
  admit(address: string | undefined, now = Date.now()): { ticket: GateTicket } | { refusal: Refusal } {
    const key = addressKey(address);
    if (!this.#take(key, now)) return { refusal: { condition: 'policy-violation', text: 'Too many connections from your address; slow down' } };
    if (this.#unauth >= this.#opts.maxUnauthenticated) {
      return { refusal: { condition: 'resource-constraint', text: 'The server is busy; try again later' } };
    }
    const mine = this.#unauthByAddress.get(key) ?? 0;
    if (mine >= this.#opts.maxUnauthenticatedPerAddress) {
      return { refusal: { condition: 'policy-violation', text: 'Too many unauthenticated connections from your address' } };
    }
    this.#unauth++;
    this.#unauthByAddress.set(key, mine + 1);
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      this.#unauth--;
      const n = (this.#unauthByAddress.get(key) ?? 1) - 1;
      if (n > 0) this.#unauthByAddress.set(key, n);
      else this.#unauthByAddress.delete(key);
    };
    return {
      ticket: {
        // A connection that logs in gives its token back: the rate limits connections that never
        // authenticate (floods, scanners), not the users of one busy network.
        authenticated: () => {
          if (counted) this.#refund(key);
          release();
        },
        closed: release,
      },
    };
  }

  #refund(key: string): void {
    const b = this.#buckets.get(key);
    if (b) b.tokens = Math.min(this.#opts.burstPerAddress, b.tokens + 1);
  }

  /** Token bucket per address: burstPerAddress at once, refilled at ratePerAddress per second. */
  #take(key: string, now: number): boolean {
    const { ratePerAddress: rate, burstPerAddress: burst } = this.#opts;
    let b = this.#buckets.get(key);
    if (b) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    } else {
      if (this.#buckets.size >= MAX_BUCKETS) this.#sweep(now);
      b = { tokens: burst, at: now };
      this.#buckets.set(key, b);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets addresses whose bucket has refilled: they look exactly like new ones. */
  #sweep(now: number): void {
    const { ratePerAddress: rate, burstPerAddress: burst } = this.#opts;
    for (const [k, b] of this.#buckets) if (b.tokens + ((now - b.at) / 1000) * rate >= burst) this.#buckets.delete(k);
    // Still full of live buckets (a flood from many addresses): start over rather than grow.
    if (this.#buckets.size >= MAX_BUCKETS) this.#buckets.clear();
  }

  /** Clean-up of refilled buckets (every minute, on its own timer). */
  sweep(now = Date.now()): void {
    this.#sweep(now);
  }
}
