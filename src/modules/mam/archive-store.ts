// One archive per account, in a declared (so sealed) archive store: entries in the order the server
// handled them, each holding its unpredictable XEP-0313 id, its direction, the other party and the
// message. The per-account cap drops the oldest first (XEP-0313 §3.2: no holes), under a per-account
// lock so a busy conversation never overshoots it.
import type { ArchiveStore } from '../../core/storage.ts';
import { KeyedLock } from '../../lib/keyed-lock.ts';
import { elementFromJson, type XmlJson } from '../../core/xml/xml-json.ts';
import type { Element } from '../../core/xml/element.ts';
import { newArchiveId } from './stanza-id.ts';

/** As stored (a type, so it fits the JSON store). */
export type ArchivedMessage = {
  /** The XEP-0313 UID (also the XEP-0359 stanza-id). */
  uid: string;
  /** Sent by the account ('out') or received ('in'). */
  dir: 'in' | 'out';
  /** The other party as addressed: the recipient of a sent message, the sender of a received one. */
  with: string;
  message: XmlJson;
};

export interface ArchiveItem {
  uid: string;
  when: Date;
  dir: 'in' | 'out';
  with: string;
  message: Element;
}

function isArchived(v: unknown): v is ArchivedMessage {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r['uid'] === 'string' && (r['dir'] === 'in' || r['dir'] === 'out') && typeof r['with'] === 'string' && typeof r['message'] === 'object';
}

/** Accounts whose UIDs are kept in memory for `holds`; past this the cache starts over. */
const UID_CACHE_MAX = 100;
/** How long a cached set of UIDs is trusted (a burst of offline deliveries checks each message). */
const UID_CACHE_MS = 30_000;

export class UserArchives {
  readonly #store: ArchiveStore<ArchivedMessage>;
  readonly #maxMessages: number;
  readonly #locks = new KeyedLock();
  /** user -> the UIDs of the account's archive, read recently; new UIDs are added as they are made. */
  readonly #uids = new Map<string, { uids: Set<string>; at: number }>();

  constructor(store: ArchiveStore<ArchivedMessage>, maxMessages: number) {
    this.#store = store;
    this.#maxMessages = maxMessages;
  }

  /** Stores a message and returns its new UID; past the cap the oldest entries go. */
  append(user: string, entry: Omit<ArchivedMessage, 'uid'>, when: Date = new Date(), uid: string = newArchiveId()): Promise<string> {
    return this.#locks.run(user, async () => {
      await this.#store.append(user, { uid, ...entry }, when);
      this.#uids.get(user)?.uids.add(uid);
      const over = (await this.#store.count(user)) - this.#maxMessages;
      if (over > 0) {
        const oldest = await this.#store.list(user, { limit: over });
        await this.#store.delete(user, oldest.map((e) => e.id));
      }
      return uid;
    });
  }

  /** The account's archive, oldest first (unreadable entries left out). */
  async items(user: string): Promise<ArchiveItem[]> {
    const out: ArchiveItem[] = [];
    for (const e of await this.#store.list(user)) {
      if (!isArchived(e.value)) continue;
      try {
        out.push({ uid: e.value.uid, when: e.when, dir: e.value.dir, with: e.value.with, message: elementFromJson(e.value.message) });
      } catch {
        // A damaged value: left out, like the storage leaves out what it can't open.
      }
    }
    return out;
  }

  /**
   * Whether every one of these UIDs was made by the account's archive (an offline message coming
   * back keeps its stanza-id). Read from storage at most every UID_CACHE_MS per account, so a
   * login that collects many offline messages doesn't read the whole archive for each.
   */
  async holds(user: string, uids: readonly string[]): Promise<boolean> {
    let cached = this.#uids.get(user);
    if (!cached || Date.now() - cached.at > UID_CACHE_MS) {
      const known = new Set<string>();
      for (const e of await this.#store.list(user)) if (isArchived(e.value)) known.add(e.value.uid);
      if (this.#uids.size >= UID_CACHE_MAX) this.#uids.clear();
      cached = { uids: known, at: Date.now() };
      this.#uids.set(user, cached);
    }
    const { uids: known } = cached;
    return uids.every((u) => known.has(u));
  }

  count(user: string): Promise<number> {
    return this.#store.count(user);
  }

  /** Replaces the account's archive (an import), under the account's lock. */
  replace(user: string, entries: readonly { value: ArchivedMessage; when: Date }[]): Promise<void> {
    return this.#locks.run(user, async () => {
      this.#uids.delete(user);
      await this.#store.deleteAll(user);
      for (const e of entries.slice(-this.#maxMessages)) await this.#store.append(user, e.value, e.when);
    });
  }

  async purgeOlderThan(cutoff: Date): Promise<number> {
    const purged = await this.#store.purgeOlderThan(cutoff);
    if (purged > 0) this.#uids.clear();
    return purged;
  }

  /** The account is gone (its stores are erased by the core). */
  forget(user: string): void {
    this.#uids.delete(user);
  }
}
