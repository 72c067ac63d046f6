// Upload slots handed out but not used yet (XEP-0363 §5): kept in memory only, bounded per user
// and in total, each valid for a short time and for one PUT.
import { randomBytes } from 'node:crypto';

export interface Slot {
  owner: string;
  name: string;
  size: number;
  /** The requested content type, or '' when the request named none. */
  type: string;
  expires: number;
}

/** Slots pending at most on one host: past it everyone waits (a fixed, documented cap). */
export const MAX_PENDING_TOTAL = 10_000;

export class Slots {
  readonly #pending = new Map<string, Slot>();
  /** Slots whose PUT is arriving: still counted against the quota, and a second PUT is refused. */
  readonly #uploading = new Map<string, Slot>();
  readonly #perUser: number;
  readonly #lifetimeMs: number;

  constructor(perUser: number, lifetimeMs: number) {
    this.#perUser = perUser;
    this.#lifetimeMs = lifetimeMs;
  }

  #sweep(now: number): void {
    for (const [token, slot] of this.#pending) if (slot.expires <= now) this.#pending.delete(token);
  }

  #of(owner: string): Slot[] {
    return [...this.#pending.values()].filter((s) => s.owner === owner);
  }

  /** Bytes the owner has reserved with pending slots and uploads under way. */
  reserved(owner: string): number {
    this.#sweep(Date.now());
    let n = 0;
    for (const s of [...this.#pending.values(), ...this.#uploading.values()]) if (s.owner === owner) n += s.size;
    return n;
  }

  /** A new slot's token (256 random bits), or why there is none. */
  create(slot: Omit<Slot, 'expires'>): { token: string } | { full: 'user' | 'total' } {
    const now = Date.now();
    this.#sweep(now);
    if (this.#of(slot.owner).length >= this.#perUser) return { full: 'user' };
    if (this.#pending.size >= MAX_PENDING_TOTAL) return { full: 'total' };
    const token = randomBytes(32).toString('base64url');
    this.#pending.set(token, { ...slot, expires: now + this.#lifetimeMs });
    return { token };
  }

  /** Takes a slot for its one upload (until done()): a second take of the same token gets nothing. */
  take(token: string): Slot | undefined {
    const slot = this.#pending.get(token);
    if (!slot) return undefined;
    this.#pending.delete(token);
    if (slot.expires <= Date.now()) return undefined;
    this.#uploading.set(token, slot);
    return slot;
  }

  /** The upload of a taken slot ended (stored or failed). */
  done(token: string): void {
    this.#uploading.delete(token);
  }

  isUploading(token: string): boolean {
    return this.#uploading.has(token);
  }

  /** Whether an unexpired slot waits for this token (without taking it). */
  peek(token: string): Slot | undefined {
    const slot = this.#pending.get(token);
    return slot && slot.expires > Date.now() ? slot : undefined;
  }

  dropOwner(owner: string): void {
    for (const [token, slot] of this.#pending) if (slot.owner === owner) this.#pending.delete(token);
  }

  clear(): void {
    this.#pending.clear();
    this.#uploading.clear();
  }
}
