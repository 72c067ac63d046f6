// XEP-0484 FAST tokens at rest (v0.1.0). Per account and per client (a keyed hash of the client's
// SASL2 <user-agent id>, never the id itself), two slots as the XEP's implementation notes
// describe: `current`, and `next`, a newer token waiting for its first use. A token is kept only
// as SHA-256 of its text, which is all the HT mechanism needs (src/lib/sasl-ht.ts), sealed like
// every stored value. Bounded: a few clients per account, two tokens each, each with an expiry.
// The tokens go with the account (StorageBackend.deleteUser removes every store of a user), with
// a password change (Accounts.setPassword), by revocation (revokeFastTokens) and at expiry.
import { createHmac } from 'node:crypto';
import type { KeyValueStore, StorageBackend } from './storage.ts';
import { initiatorMatches, newToken, responderHash, tokenKey } from '../lib/sasl-ht.ts';

export const FAST_STORE = 'fast_tokens';

/** One token: SHA-256 of its text (base64), the mechanism it was issued for, its use counter. */
type Slot = { key: string; mechanism: string; issued: number; expires: number; count: number };
type ClientTokens = { current: Slot | null; next: Slot | null };
type AccountTokens = { clients: { [client: string]: ClientTokens } };

export interface FastOptions {
  lifetimeMs: number;
  /** A token issued longer ago than this is replaced at its next use (XEP-0484 §4.4). */
  rotateAfterMs: number;
  /** Clients of one account that may hold tokens. */
  maxClients: number;
}

export type FastCheck =
  | { ok: true; responder: Buffer; rotate: boolean }
  /** `counts` as SaslStep's: a wrong token counts like a wrong password; a mechanism switch against the account only. */
  | { ok: false; condition: 'not-authorized' | 'credentials-expired'; text?: string; counts?: 'credentials' | 'binding' };

/** A key for one token-less comparison, so an unknown client costs the same HMAC as a known one. */
const DUMMY_KEY = Buffer.alloc(32);

/** XEP-0082 DateTime without milliseconds. */
function dateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function live(slot: Slot | null, now: number): Slot | null {
  return slot && slot.expires > now ? slot : null;
}

/** The latest expiry of a client's tokens (0 when none is live). */
function lastExpiry(c: ClientTokens): number {
  return Math.max(c.current?.expires ?? 0, c.next?.expires ?? 0);
}

export class FastTokens {
  readonly #storage: StorageBackend;
  readonly #secret: Buffer;
  readonly #opts: FastOptions;

  constructor(storage: StorageBackend, secret: Buffer, opts: FastOptions) {
    this.#storage = storage;
    this.#secret = secret;
    this.#opts = opts;
  }

  #store(host: string): KeyValueStore<AccountTokens> {
    return this.#storage.keyval<AccountTokens>(host, FAST_STORE);
  }

  /**
   * The client as stored: a keyed hash of its <user-agent id> under the server secret, per
   * account, so the stable device identifier is neither kept nor linkable across accounts.
   */
  clientKey(host: string, user: string, userAgentId: string): string {
    return createHmac('sha256', this.#secret).update(`fast-client\0${host}\0${user}\0${userAgentId}`).digest('base64url').slice(0, 22);
  }

  /**
   * Checks an HT initiator hash (with this connection's channel-binding data) against the
   * client's tokens, the `next` one first (§5.1). A match of `next` makes it `current`, which
   * invalidates the older token (§4.4); a `count` (§4.3) must exceed the last one seen.
   */
  async verify(host: string, user: string, client: string, mechanism: string, received: Buffer, cbData: Buffer, count: number | undefined): Promise<FastCheck> {
    const store = this.#store(host);
    const now = Date.now();
    return store.transaction(async (tx) => {
      const t = tx.keyval(store);
      const rec = await t.get(user);
      const entry = rec?.clients[client];
      let matched: 'next' | 'current' | undefined;
      for (const which of ['next', 'current'] as const) {
        const slot = entry?.[which];
        const ok = initiatorMatches(slot ? Buffer.from(slot.key, 'base64') : DUMMY_KEY, cbData, received);
        if (ok && slot && !matched) matched = which;
      }
      const slot = matched && entry ? entry[matched] : null;
      if (!rec || !entry || !matched || !slot) return { ok: false, condition: 'not-authorized', counts: 'credentials' } as const;
      // §4.3: bound to the mechanism it was issued for; a channel-bound token used without binding is a downgrade.
      if (slot.mechanism !== mechanism) return { ok: false, condition: 'not-authorized', text: 'This token was issued for another mechanism', counts: 'binding' } as const;
      // §6.2: a token the server no longer trusts fails with credentials-expired.
      if (slot.expires <= now) {
        entry[matched] = null;
        t.set(user, rec);
        return { ok: false, condition: 'credentials-expired', text: 'The token has expired; log in with your password' } as const;
      }
      if (count !== undefined) {
        if (count <= slot.count) return { ok: false, condition: 'not-authorized', text: 'Replayed authentication (count not above the last one)', counts: 'credentials' } as const;
        slot.count = count;
      }
      if (matched === 'next') {
        entry.current = slot;
        entry.next = null;
      }
      // A plain login with the current token changes nothing: no write.
      if (count !== undefined || matched === 'next') t.set(user, rec);
      return { ok: true, responder: responderHash(Buffer.from(slot.key, 'base64'), cbData), rotate: now - slot.issued >= this.#opts.rotateAfterMs } as const;
    });
  }

  /**
   * Issues a token for the client into its `next` slot (replacing an unused one, §4.4); the
   * client with the earliest expiry goes when the account has more than `maxClients`.
   */
  async issue(host: string, user: string, client: string, mechanism: string): Promise<{ token: string; expiry: string }> {
    const token = newToken();
    const now = Date.now();
    const slot: Slot = { key: tokenKey(token).toString('base64'), mechanism, issued: now, expires: now + this.#opts.lifetimeMs, count: 0 };
    const store = this.#store(host);
    await store.transaction(async (tx) => {
      const t = tx.keyval(store);
      const rec = (await t.get(user)) ?? { clients: {} };
      const clients: AccountTokens['clients'] = {};
      for (const [key, c] of Object.entries(rec.clients)) {
        const kept = { current: live(c.current, now), next: live(c.next, now) };
        if (kept.current || kept.next) clients[key] = kept;
      }
      clients[client] = { current: clients[client]?.current ?? null, next: slot };
      const others = Object.entries(clients).filter(([key]) => key !== client).sort((a, b) => lastExpiry(a[1]) - lastExpiry(b[1]));
      while (others.length >= this.#opts.maxClients) {
        const [key] = others.shift() ?? [''];
        delete clients[key];
      }
      t.set(user, { clients });
    });
    return { token, expiry: dateTime(slot.expires) };
  }

  /** §4.5: the client logs out: every token of it goes. */
  async invalidate(host: string, user: string, client: string): Promise<void> {
    const store = this.#store(host);
    await store.transaction(async (tx) => {
      const t = tx.keyval(store);
      const rec = await t.get(user);
      if (!rec?.clients[client]) return;
      delete rec.clients[client];
      if (Object.keys(rec.clients).length) t.set(user, rec);
      else t.delete(user);
    });
  }

  /** Deletes expired tokens of every account of the host; returns how many went. */
  async purgeExpired(host: string, now = Date.now()): Promise<number> {
    const store = this.#store(host);
    let purged = 0;
    for (const user of await store.users()) {
      purged += await store.transaction(async (tx) => {
        const t = tx.keyval(store);
        const rec = await t.get(user);
        if (!rec) return 0;
        let gone = 0;
        for (const [key, c] of Object.entries(rec.clients)) {
          for (const which of ['current', 'next'] as const) {
            if (c[which] && !live(c[which], now)) {
              c[which] = null;
              gone++;
            }
          }
          if (!c.current && !c.next) delete rec.clients[key];
        }
        if (gone === 0) return 0;
        if (Object.keys(rec.clients).length) t.set(user, rec);
        else t.delete(user);
        return gone;
      });
    }
    return purged;
  }
}

/** Revokes every token of an account (operator command); returns how many there were. */
export async function revokeFastTokens(storage: StorageBackend, host: string, user: string): Promise<number> {
  const store = storage.keyval<AccountTokens>(host, FAST_STORE);
  const rec = await store.get(user);
  if (!rec) return 0;
  await store.delete(user);
  return Object.values(rec.clients).reduce((n, c) => n + (c.current ? 1 : 0) + (c.next ? 1 : 0), 0);
}
