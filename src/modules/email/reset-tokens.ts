// Password reset tokens, in memory only: a server restart invalidates every link sent (the user
// asks again). Each token is single-use, expires, and is kept only as its SHA-256, so even a
// memory dump doesn't give a usable link. One live token per account: a new request replaces it.
import { createHash, randomBytes } from 'node:crypto';

/** Outstanding tokens at most; past this the oldest is dropped (its link stops working). */
export const MAX_PENDING_RESETS = 10_000;

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

export class ResetTokens {
  readonly #lifetimeMs: number;
  /** Token hash -> account and expiry, oldest first. */
  readonly #byHash = new Map<string, { user: string; expires: number }>();
  readonly #byUser = new Map<string, string>();

  constructor(lifetimeMs: number) {
    this.#lifetimeMs = lifetimeMs;
  }

  /** A new token for the account (its earlier one stops working). */
  issue(user: string, now = Date.now()): string {
    this.#drop(user);
    this.sweep(now);
    while (this.#byHash.size >= MAX_PENDING_RESETS) {
      const oldest = this.#byHash.entries().next().value;
      if (!oldest) break;
      this.#byHash.delete(oldest[0]);
      this.#byUser.delete(oldest[1].user);
    }
    const token = randomBytes(32).toString('base64url');
    const hash = digest(token);
    this.#byHash.set(hash, { user, expires: now + this.#lifetimeMs });
    this.#byUser.set(user, hash);
    return token;
  }

  peek(token: string, now = Date.now()): string | undefined {
    const e = this.#byHash.get(digest(token));
    return e && e.expires > now ? e.user : undefined;
  }

  /** Uses the token up: its account, or undefined when unknown, used or expired. */
  redeem(token: string, now = Date.now()): string | undefined {
    const user = this.peek(token, now);
    if (user !== undefined) this.#drop(user);
    return user;
  }

  /** Forgets the account's token (account deleted, password changed). */
  #drop(user: string): void {
    const hash = this.#byUser.get(user);
    if (hash === undefined) return;
    this.#byUser.delete(user);
    this.#byHash.delete(hash);
  }

  forget(user: string): void {
    this.#drop(user);
  }

  sweep(now = Date.now()): void {
    for (const [hash, e] of this.#byHash) {
      if (e.expires > now) continue;
      this.#byHash.delete(hash);
      if (this.#byUser.get(e.user) === hash) this.#byUser.delete(e.user);
    }
  }

  get size(): number {
    return this.#byHash.size;
  }
}
