// Logged-in web sessions, in memory only (a restart logs everyone out): a random 256-bit id in an
// HttpOnly cookie, a per-session CSRF token for the forms, an idle expiry, and a cap on their
// number (the least recently used goes first).
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface WebSession {
  readonly id: string;
  readonly user: string;
  /** Goes into every form as a hidden field; a POST without it is refused. */
  readonly csrf: string;
  lastSeen: number;
}

export class WebSessions {
  readonly #idleMs: number;
  readonly #max: number;
  /** Least recently used first (a use moves the session to the end). */
  readonly #byId = new Map<string, WebSession>();

  constructor(idleMs: number, max: number) {
    this.#idleMs = idleMs;
    this.#max = max;
  }

  start(user: string, now = Date.now()): WebSession {
    this.sweep(now);
    while (this.#byId.size >= this.#max) {
      const oldest = this.#byId.keys().next().value;
      if (oldest === undefined) break;
      this.#byId.delete(oldest);
    }
    const s: WebSession = { id: randomBytes(32).toString('base64url'), user, csrf: randomBytes(32).toString('base64url'), lastSeen: now };
    this.#byId.set(s.id, s);
    return s;
  }

  /** The live session with this id (its idle timer restarts), or undefined. */
  get(id: string | undefined, now = Date.now()): WebSession | undefined {
    if (id === undefined) return undefined;
    const s = this.#byId.get(id);
    if (!s) return undefined;
    this.#byId.delete(id);
    if (s.lastSeen + this.#idleMs <= now) return undefined;
    s.lastSeen = now;
    this.#byId.set(id, s);
    return s;
  }

  end(id: string): void {
    this.#byId.delete(id);
  }

  /** Ends every session of the account but `keep` (password changed, reset, account deleted). */
  endUser(user: string, keep?: string): void {
    for (const [id, s] of this.#byId) if (s.user === user && id !== keep) this.#byId.delete(id);
  }

  sweep(now = Date.now()): void {
    for (const [id, s] of this.#byId) if (s.lastSeen + this.#idleMs <= now) this.#byId.delete(id);
  }
}

/** Compares a submitted CSRF token with the session's in constant time. */
export function csrfMatches(session: WebSession, submitted: string | undefined): boolean {
  if (submitted === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
