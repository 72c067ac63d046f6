// Invites as stored: each under its inviter (so it goes with the inviter's account and is part of
// the inviter's data), and a token index to find it by. Tokens carry 144 random bits.
import { randomBytes } from 'node:crypto';
import type { KeyValueStore, MapStore } from '../../core/storage.ts';

/** The owner of invites the operator (CLI) makes: '@' can't be in a localpart, so no account clashes. */
export const OPERATOR = '@operator';

export type Invite = {
  /** 'account': creates an account (XEP-0401 §4); 'contact': adds the inviter as a contact (XEP-0379). */
  kind: 'account' | 'contact';
  /** A contact invite that may also create the invitee's account (XEP-0401 §3, ibr=y). */
  createsAccount: boolean;
  /** A name the new account must take, reserved by an admin. */
  username?: string;
  created: number;
  expires: number;
};

/** The token index: whose invite it is, and when it expires (for purges without the inviter). */
export type TokenEntry = { owner: string; expires: number };

export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Tokens as issued: 24 base64url characters; anything else is not looked up. */
export function plausibleToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{24}$/.test(token);
}

export class InviteStore {
  readonly #invites: MapStore<Invite>;
  readonly #tokens: KeyValueStore<TokenEntry>;

  constructor(invites: MapStore<Invite>, tokens: KeyValueStore<TokenEntry>) {
    this.#invites = invites;
    this.#tokens = tokens;
  }

  async add(owner: string, invite: Invite): Promise<string> {
    const token = newToken();
    await this.#invites.transaction(async (tx) => {
      tx.map(this.#invites).set(owner, token, invite);
      tx.keyval(this.#tokens).set(token, { owner, expires: invite.expires });
    });
    return token;
  }

  /** A valid invite: known, its inviter's record still there, not expired. */
  async find(token: string, now = Date.now()): Promise<{ owner: string; invite: Invite } | undefined> {
    if (!plausibleToken(token)) return undefined;
    const entry = await this.#tokens.get(token);
    if (!entry || entry.expires <= now) return undefined;
    const invite = await this.#invites.get(entry.owner, token);
    if (!invite || invite.expires <= now) return undefined;
    return { owner: entry.owner, invite };
  }

  /** Uses an invite up; false when another use took it first. */
  async consume(token: string, owner: string): Promise<boolean> {
    return this.#invites.transaction(async (tx) => {
      const invites = tx.map(this.#invites);
      if (!(await invites.get(owner, token))) return false;
      invites.delete(owner, token);
      tx.keyval(this.#tokens).delete(token);
      return true;
    });
  }

  /** How many invites an account has out. */
  async countOf(owner: string): Promise<number> {
    return (await this.#invites.getAll(owner)).size;
  }

  /** Deletes every invite expired by `now`; returns how many went. */
  async purgeExpired(now = Date.now()): Promise<number> {
    let purged = 0;
    for (const token of await this.#tokens.users()) {
      const entry = await this.#tokens.get(token);
      if (entry && entry.expires > now) continue;
      if (entry) await this.#invites.delete(entry.owner, token);
      await this.#tokens.delete(token);
      purged++;
    }
    return purged;
  }

  /** Drops the index entries of a deleted account's invites (the invites went with the account). */
  async forgetOwner(owner: string): Promise<void> {
    for (const token of await this.#tokens.users()) {
      if ((await this.#tokens.get(token))?.owner !== owner) continue;
      await this.#invites.delete(owner, token);
      await this.#tokens.delete(token);
    }
  }
}
