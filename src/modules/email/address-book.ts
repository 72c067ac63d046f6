// E-mail addresses of accounts (sealed like every stored value) and the index that finds accounts
// by address without scanning: a keyed hash (HMAC-SHA-256 under a random key kept in the store)
// of the normalized address, so the index reveals nothing without the key. An owner pointer,
// keyed by a keyed hash of the user name, survives the account's deletion (which erases every
// record the account owns) so the user/deleted hook can still remove the index entry.
import { createHmac, randomBytes } from 'node:crypto';
import type { KeyValueStore } from '../../core/storage.ts';
import { normalizeEmail } from './email-syntax.ts';

export type EmailRecord = { address: string };

/** Accounts one address may serve: bounds the index entry and the mails one reset request sends. */
export const MAX_ACCOUNTS_PER_ADDRESS = 10;

/** The index key's record name: '@' never occurs in a user name. */
const KEY_RECORD = '@key';

export interface AddressBookStores {
  /** Per account: its address. */
  addresses: KeyValueStore<EmailRecord>;
  /** Per address hash: the accounts with that address. */
  index: KeyValueStore<string[]>;
  /** Per user-name hash: the address hash the account is indexed under. */
  owners: KeyValueStore<string>;
  /** The HMAC key (base64). */
  key: KeyValueStore<string>;
}

export class AddressBook {
  readonly #s: AddressBookStores;
  readonly #host: string;
  #secret: Promise<Buffer> | undefined;

  constructor(stores: AddressBookStores, host: string) {
    this.#s = stores;
    this.#host = host;
  }

  #key(): Promise<Buffer> {
    this.#secret ??= this.#s.key.transaction(async (tx) => {
      const keys = tx.keyval(this.#s.key);
      const found = await keys.get(KEY_RECORD);
      if (found) return Buffer.from(found, 'base64');
      const fresh = randomBytes(32);
      keys.set(KEY_RECORD, fresh.toString('base64'));
      return fresh;
    });
    return this.#secret;
  }

  async #hash(kind: 'address' | 'owner', value: string): Promise<string> {
    return createHmac('sha256', await this.#key()).update(`email-${kind}\0${this.#host}\0${value}`).digest('base64url');
  }

  async get(user: string): Promise<string | undefined> {
    return (await this.#s.addresses.get(user))?.address;
  }

  /** Sets or replaces the account's address; false when the address already serves too many accounts. */
  async set(user: string, address: string): Promise<boolean> {
    const hash = await this.#hash('address', normalizeEmail(address));
    const owner = await this.#hash('owner', user);
    return this.#s.addresses.transaction(async (tx) => {
      const index = tx.keyval(this.#s.index);
      const owners = tx.keyval(this.#s.owners);
      const previous = await owners.get(owner);
      if (previous !== undefined && previous !== hash) await this.#unindex(tx.keyval(this.#s.index), previous, user);
      const users = (await index.get(hash)) ?? [];
      if (!users.includes(user)) {
        if (users.length >= MAX_ACCOUNTS_PER_ADDRESS) return false;
        index.set(hash, [...users, user]);
      }
      owners.set(owner, hash);
      tx.keyval(this.#s.addresses).set(user, { address });
      return true;
    });
  }

  /** Removes the account's address and its index entries (also after the account is gone). */
  async remove(user: string): Promise<void> {
    const owner = await this.#hash('owner', user);
    await this.#s.addresses.transaction(async (tx) => {
      const owners = tx.keyval(this.#s.owners);
      const hash = await owners.get(owner);
      if (hash !== undefined) await this.#unindex(tx.keyval(this.#s.index), hash, user);
      owners.delete(owner);
      tx.keyval(this.#s.addresses).delete(user);
    });
  }

  async #unindex(index: { get(k: string): Promise<string[] | undefined>; set(k: string, v: string[]): void; delete(k: string): void }, hash: string, user: string): Promise<void> {
    const users = (await index.get(hash))?.filter((u) => u !== user) ?? [];
    if (users.length) index.set(hash, users);
    else index.delete(hash);
  }

  /** The accounts whose address on file is this one (compared again, so a stale entry finds nothing). */
  async find(address: string): Promise<{ user: string; address: string }[]> {
    const normal = normalizeEmail(address);
    const users = (await this.#s.index.get(await this.#hash('address', normal))) ?? [];
    const out: { user: string; address: string }[] = [];
    for (const user of users) {
      const rec = await this.#s.addresses.get(user);
      if (rec && normalizeEmail(rec.address) === normal) out.push({ user, address: rec.address });
    }
    return out;
  }

  /** The keyed hash of an address, for rate limits (never the address itself). */
  addressKey(address: string): Promise<string> {
    return this.#hash('address', normalizeEmail(address));
  }
}
