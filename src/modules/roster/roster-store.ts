// RFC 6121 §2.1: roster items as stored, one map entry per contact bare JID, with the
// subscription state (Appendix A) and the version meta of XEP-0237 beside them.
import { KeyedLock } from '../../lib/keyed-lock.ts';
import type { KeyValueStore, MapStore } from '../../core/storage.ts';
import type { SubState, Subscription } from './subscriptions.ts';
import { formatVer, nextMeta, type RosterMeta } from './versioning.ts';

/** A stored roster item. Plain JSON: the storage codec seals it as it is. */
export type RosterItem = {
  name?: string;
  groups: string[];
  subscription: Subscription;
  /** Pending out (§3.1.2): shown to the client as ask='subscribe'. */
  ask?: 'subscribe';
  /** Pending in (§3.1.3): a request waiting for the account's answer, redelivered at login. */
  pendingIn?: true;
  /** The <status/> of that request, so the redelivered copy still says why. */
  pendingStatus?: string;
  /** The XEP-0172 nickname the requester gave, likewise. */
  pendingNick?: string;
  /** Pre-approval (§3.4): the next request from this contact is approved at once. */
  approved?: true;
  /**
   * Not part of the roster the client sees: the entry exists only to remember a pending inbound
   * request from someone the account never added (§3.1.3 keeps requests, not roster items).
   */
  hidden?: true;
};

export function subState(item: RosterItem | undefined): SubState {
  return {
    subscription: item?.subscription ?? 'none',
    pendingOut: item?.ask === 'subscribe',
    pendingIn: item?.pendingIn === true,
  };
}

/** The item with a new subscription state; everything else (name, groups, approval) is kept. */
export function withState(item: RosterItem, s: SubState): RosterItem {
  const out: RosterItem = { ...item, subscription: s.subscription };
  delete out.ask;
  delete out.pendingIn;
  if (s.pendingOut) out.ask = 'subscribe';
  if (s.pendingIn) out.pendingIn = true;
  else {
    delete out.pendingStatus;
    delete out.pendingNick;
  }
  return out;
}

/** A hidden entry that no longer remembers anything can go. */
export function isEmptyHidden(item: RosterItem): boolean {
  return item.hidden === true && item.subscription === 'none' && !item.ask && !item.pendingIn && !item.approved;
}

export function newItem(hidden = false): RosterItem {
  return hidden ? { groups: [], subscription: 'none', hidden: true } : { groups: [], subscription: 'none' };
}

export class RosterStore {
  readonly #items: MapStore<RosterItem>;
  readonly #meta: KeyValueStore<RosterMeta>;
  /** user -> tail of that user's queue of roster updates. */
  readonly #locks = new KeyedLock();

  constructor(items: MapStore<RosterItem>, meta: KeyValueStore<RosterMeta>) {
    this.#items = items;
    this.#meta = meta;
  }

  get(user: string, jid: string): Promise<RosterItem | undefined> {
    return this.#items.get(user, jid);
  }

  all(user: string): Promise<Map<string, RosterItem>> {
    return this.#items.getAll(user);
  }

  /** The items the client sees (hidden entries left out). */
  async visible(user: string): Promise<Map<string, RosterItem>> {
    const out = new Map<string, RosterItem>();
    for (const [jid, item] of await this.#items.getAll(user)) if (!item.hidden) out.set(jid, item);
    return out;
  }

  async meta(user: string): Promise<RosterMeta | undefined> {
    return this.#meta.get(user);
  }

  async version(user: string): Promise<string> {
    return formatVer(await this.#meta.get(user));
  }

  /**
   * Writes an item (or deletes it when `item` is undefined) and moves the roster to its next
   * version, in one transaction: the item and the version are stored together or not at all.
   * Returns that version for the pushes. Call inside `lock(user)`.
   */
  async write(user: string, jid: string, item: RosterItem | undefined): Promise<string> {
    return this.#items.transaction(async (tx) => {
      const items = tx.map(this.#items);
      const meta = tx.keyval(this.#meta);
      if (item) items.set(user, jid, item);
      else items.delete(user, jid);
      const next = nextMeta(await meta.get(user));
      meta.set(user, next);
      return formatVer(next);
    });
  }

  /** Writes or deletes an entry whose change the client can't see: the version stays. */
  async writeQuiet(user: string, jid: string, item: RosterItem | undefined): Promise<void> {
    await this.#items.transaction(async (tx) => {
      const items = tx.map(this.#items);
      const meta = tx.keyval(this.#meta);
      if (item) items.set(user, jid, item);
      else items.delete(user, jid);
      // Every user with roster data has a meta record, so users() finds them all.
      if (!(await meta.get(user))) meta.set(user, nextMeta(undefined));
    });
  }

  /** Replaces the whole roster (an import), with a new version, in one transaction. Call inside `lock(user)`. */
  async replaceAll(user: string, items: ReadonlyMap<string, RosterItem>): Promise<void> {
    await this.#items.transaction(async (tx) => {
      const map = tx.map(this.#items);
      const meta = tx.keyval(this.#meta);
      map.deleteAll(user);
      for (const [jid, item] of items) map.set(user, jid, item);
      meta.set(user, nextMeta(await meta.get(user)));
    });
  }

  /** Forgets the user's roster and its version entirely, together. */
  async clear(user: string): Promise<void> {
    await this.#items.transaction(async (tx) => {
      tx.map(this.#items).deleteAll(user);
      tx.keyval(this.#meta).delete(user);
    });
  }

  /** Every local user that ever had a roster on this host (for cleanups after account deletion). */
  users(): Promise<string[]> {
    return this.#meta.users();
  }

  /**
   * Runs read-modify-write updates of one user's roster one after another, so two subscription
   * stanzas arriving together can't both start from the same old state. Never route stanzas
   * while holding the lock: the routed stanza may need the lock of the same user again.
   */
  lock<T>(user: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(user, fn);
  }

}
