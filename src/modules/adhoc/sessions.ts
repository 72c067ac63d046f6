// XEP-0050 command sessions, in memory and bounded: per requester account, in total, and in time.
// An expired session leaves a tombstone for a while, so its next request hears <session-expired/>
// rather than <bad-sessionid/> (§6).
import { randomBytes } from 'node:crypto';
import type { Jid } from '../../core/jid.ts';

export interface CommandSession {
  readonly id: string;
  readonly node: string;
  /** The requester's full JID: only it may continue the session. */
  readonly owner: string;
  readonly account: string;
  stage: number;
  state: unknown;
  expires: number;
}

export interface SessionLimits {
  maxTotal: number;
  maxPerAccount: number;
  timeoutMs: number;
}

/** How long a tombstone is kept: requests later than this get <bad-sessionid/>. */
const TOMBSTONE_MS = 3_600_000;

export class CommandSessions {
  readonly #limits: SessionLimits;
  readonly #sessions = new Map<string, CommandSession>();
  readonly #byAccount = new Map<string, Set<string>>();
  /** Expired or evicted session ids -> when; insertion-ordered, so the oldest go first. */
  readonly #tombstones = new Map<string, number>();

  constructor(limits: SessionLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * A new session, or undefined when the total is reached. An account at its own limit loses its
   * oldest session (an abandoned dialog, most likely) to the new one.
   */
  create(owner: Jid, node: string, state: unknown, now = Date.now()): CommandSession | undefined {
    this.sweep(now);
    const account = owner.bareString;
    const own = this.#byAccount.get(account);
    if (own && own.size >= this.#limits.maxPerAccount) {
      const oldest = own.values().next().value;
      if (oldest !== undefined) this.#expire(oldest, now);
    }
    if (this.#sessions.size >= this.#limits.maxTotal) return undefined;
    const session: CommandSession = { id: randomBytes(12).toString('base64url'), node, owner: owner.toString(), account, stage: 0, state, expires: now + this.#limits.timeoutMs };
    this.#sessions.set(session.id, session);
    const ids = this.#byAccount.get(account) ?? new Set<string>();
    ids.add(session.id);
    this.#byAccount.set(account, ids);
    return session;
  }

  /** The live session, 'expired' for a recent tombstone, or undefined when unknown. */
  find(id: string, now = Date.now()): CommandSession | 'expired' | undefined {
    const s = this.#sessions.get(id);
    if (s && s.expires > now) return s;
    if (s) this.#expire(id, now);
    return this.#tombstones.has(id) ? 'expired' : undefined;
  }

  /** Extends a session that just took a step. */
  touch(s: CommandSession, now = Date.now()): void {
    s.expires = now + this.#limits.timeoutMs;
  }

  /** Ends a session normally (completed or canceled): no tombstone. */
  end(id: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    this.#unindex(s);
  }

  /** Expires timed-out sessions and forgets old tombstones. */
  sweep(now = Date.now()): void {
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#expire(id, now);
    for (const [id, at] of this.#tombstones) {
      if (at > now - TOMBSTONE_MS && this.#tombstones.size <= this.#limits.maxTotal) break;
      this.#tombstones.delete(id);
    }
  }

  clear(): void {
    this.#sessions.clear();
    this.#byAccount.clear();
    this.#tombstones.clear();
  }

  #expire(id: string, now: number): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    this.#unindex(s);
    this.#tombstones.set(id, now);
    if (this.#tombstones.size > this.#limits.maxTotal) {
      const oldest = this.#tombstones.keys().next().value;
      if (oldest !== undefined) this.#tombstones.delete(oldest);
    }
  }

  #unindex(s: CommandSession): void {
    const ids = this.#byAccount.get(s.account);
    ids?.delete(s.id);
    if (ids?.size === 0) this.#byAccount.delete(s.account);
  }
}
