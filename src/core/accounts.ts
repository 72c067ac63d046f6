// Accounts: only salted SCRAM data is stored (RFC 5802 §2.2, RFC 7677), never the password.
import type { KeyValueStore, StorageBackend } from './storage.ts';
import { deriveCredentials, verifyPassword, type ScramCredentials, type ScramHash } from '../lib/scram.ts';
import { preparePassword } from '../lib/saslprep.ts';
import { prepLocalpart } from './jid.ts';
import { KeyedLock } from '../lib/keyed-lock.ts';
import { FAST_STORE } from './fast-tokens.ts';

/** Stored per hash: salt, iteration count, StoredKey and ServerKey; nothing from which a login is possible. */
type StoredScram = { salt: string; iterations: number; storedKey: string; serverKey: string };

export type AccountRecord = {
  /**
   * Both hashes for accounts made here; an account imported from another server (XEP-0227) may
   * have only SHA-1 until its first password login (see checkPassword).
   */
  scram: { 'SHA-1'?: StoredScram; 'SHA-256'?: StoredScram };
  /** Suspended by the operator (termination for a breach of the terms): logins are refused, data kept. */
  disabled?: true;
};

export class AccountError extends Error {}

export class Accounts {
  readonly #storage: StorageBackend;
  readonly #iterations: number;
  readonly #stores = new Map<string, KeyValueStore<AccountRecord>>();
  /** Caches existence only: routing asks "does user@host exist" for every stanza to an offline user. */
  readonly #exists = new Map<string, boolean>();
  readonly #writes = new KeyedLock();

  constructor(storage: StorageBackend, iterations: number) {
    this.#storage = storage;
    this.#iterations = iterations;
  }

  #store(host: string): KeyValueStore<AccountRecord> {
    let s = this.#stores.get(host);
    if (!s) {
      s = this.#storage.keyval<AccountRecord>(host, 'accounts');
      this.#stores.set(host, s);
    }
    return s;
  }

  async #credentials(password: string, salt?: { sha1?: Buffer; sha256?: Buffer }): Promise<Required<AccountRecord['scram']>> {
    let prepared: string;
    try {
      prepared = preparePassword(password);
    } catch (e) {
      throw new AccountError(`invalid password: ${(e as Error).message}`);
    }
    if (!prepared) throw new AccountError('the password must not be empty');
    const [sha1, sha256] = await Promise.all([
      deriveCredentials(prepared, 'SHA-1', this.#iterations, salt?.sha1),
      deriveCredentials(prepared, 'SHA-256', this.#iterations, salt?.sha256),
    ]);
    return { 'SHA-1': sha1, 'SHA-256': sha256 };
  }

  async create(host: string, user: string, password: string): Promise<void> {
    // Serialized per address, so two creations of one name at once can't both succeed.
    await this.#writes.run(user + '@' + host, async () => {
      if (await this.exists(host, user)) throw new AccountError(`${user}@${host} already exists`);
      const scram = await this.#credentials(password);
      await this.#store(host).set(user, { scram });
      this.#exists.set(user + '@' + host, true);
    });
  }

  /**
   * New credentials; the account's FAST login tokens (XEP-0484) go in the same transaction, so
   * no client keeps logging in with a token issued under the old password.
   */
  async setPassword(host: string, user: string, password: string): Promise<void> {
    const store = this.#store(host);
    if (!(await store.get(user))) throw new AccountError(`${user}@${host} does not exist`);
    const scram = await this.#credentials(password);
    const tokens = this.#storage.keyval(host, FAST_STORE);
    await store.transaction(async (tx) => {
      const accounts = tx.keyval(store);
      const rec = await accounts.get(user);
      if (!rec) throw new AccountError(`${user}@${host} does not exist`);
      accounts.set(user, { ...rec, scram });
      tx.keyval(tokens).delete(user);
    });
  }

  /** Removes the account and every stored value of it, so the address is free at once. */
  async delete(host: string, user: string): Promise<void> {
    if (!(await this.exists(host, user))) throw new AccountError(`${user}@${host} does not exist`);
    await this.#storage.deleteUser(host, user);
    this.#exists.set(user + '@' + host, false);
  }

  /** Suspends (true) or re-enables (false) an account; its data stays. */
  async setDisabled(host: string, user: string, disabled: boolean): Promise<void> {
    const store = this.#store(host);
    await store.transaction(async (tx) => {
      const accounts = tx.keyval(store);
      const rec = await accounts.get(user);
      if (!rec) throw new AccountError(`${user}@${host} does not exist`);
      const { disabled: _was, ...rest } = rec;
      accounts.set(user, disabled ? { ...rest, disabled: true } : rest);
    });
  }

  async isDisabled(host: string, user: string): Promise<boolean> {
    return (await this.#store(host).get(user))?.disabled === true;
  }

  /** SCRAM credentials as stored (XEP-0227 export), or undefined. */
  async storedCredentials(host: string, user: string): Promise<AccountRecord['scram'] | undefined> {
    return (await this.#store(host).get(user))?.scram;
  }

  /**
   * Creates an account from SCRAM credentials made elsewhere (XEP-0227 import): no password
   * needed. A hash missing from the source is left out, so only the mechanisms it had work.
   */
  async createWithCredentials(host: string, user: string, scram: AccountRecord['scram']): Promise<void> {
    if (!scram['SHA-1'] && !scram['SHA-256']) throw new AccountError(`${user}@${host}: no SCRAM credentials`);
    await this.#writes.run(user + '@' + host, async () => {
      if (await this.exists(host, user)) throw new AccountError(`${user}@${host} already exists`);
      await this.#store(host).set(user, { scram });
      this.#exists.set(user + '@' + host, true);
    });
  }

  async exists(host: string, user: string): Promise<boolean> {
    const key = user + '@' + host;
    const cached = this.#exists.get(key);
    if (cached !== undefined) return cached;
    const found = (await this.#store(host).get(user)) !== undefined;
    if (this.#exists.size > 100_000) this.#exists.clear();
    this.#exists.set(key, found);
    return found;
  }

  async list(host: string): Promise<string[]> {
    return (await this.#store(host).users()).sort();
  }

  async scramCredentials(host: string, user: string, hash: ScramHash): Promise<ScramCredentials | undefined> {
    return (await this.#store(host).get(user))?.scram[hash];
  }

  /**
   * For SASL PLAIN: checks a password against the stored SCRAM data. SHA-256 when the account has
   * it, else SHA-1 (an account imported with SHA-1 credentials only, XEP-0227).
   */
  async checkPassword(host: string, user: string, password: string): Promise<boolean> {
    const scram = (await this.#store(host).get(user))?.scram;
    const hash: ScramHash = scram?.['SHA-256'] ? 'SHA-256' : 'SHA-1';
    const creds = scram?.[hash];
    let prepared: string;
    try {
      prepared = preparePassword(password);
    } catch {
      return false;
    }
    if (!creds) {
      // Same work as a real check, so timing doesn't reveal which accounts exist.
      await deriveCredentials(prepared, 'SHA-256', this.#iterations);
      return false;
    }
    if (!(await verifyPassword(prepared, hash, creds))) return false;
    // Unknown users are shown the configured iteration count, so every account must have it
    // too: credentials made under another count are re-derived now that the password is known,
    // and so are those of a hash the account lacks (imported with SHA-1 only: SCRAM-SHA-256 works
    // from now on). (A SCRAM login never reveals the password; a password change re-derives as well.)
    if (!this.#complete(scram)) {
      await this.#writes.run(user + '@' + host, async () => {
        const rec = await this.#store(host).get(user);
        if (!rec || this.#complete(rec.scram)) return;
        rec.scram = await this.#credentials(password);
        await this.#store(host).set(user, rec);
      });
    }
    return true;
  }

  /** Both hashes, under the configured iteration count. */
  #complete(scram: AccountRecord['scram'] | undefined): boolean {
    return scram?.['SHA-1']?.iterations === this.#iterations && scram['SHA-256']?.iterations === this.#iterations;
  }

  /** Normalizes a username as typed by a client or operator (RFC 7622 localpart). */
  static prepUser(user: string): string {
    return prepLocalpart(user);
  }
}
