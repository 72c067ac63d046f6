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

export class UserArchives {
  readonly #store: ArchiveStore<ArchivedMessage>;
  readonly #maxMessages: number;
  readonly #locks = new KeyedLock();

  constructor(store: ArchiveStore<ArchivedMessage>, maxMessages: number) {
    this.#store = store;
    this.#maxMessages = maxMessages;
  }

  /** Stores a message and returns its new UID; past the cap the oldest entries go. */
  append(user: string, entry: Omit<ArchivedMessage, 'uid'>, when: Date = new Date(), uid: string = newArchiveId()): Promise<string> {
    return this.#locks.run(user, async () => {
      await this.#store.append(user, { uid, ...entry }, when);
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

  /** Whether every one of these UIDs is in the account's archive. */
  async holds(user: string, uids: readonly string[]): Promise<boolean> {
    const known = new Set((await this.#store.list(user)).map((e) => (isArchived(e.value) ? e.value.uid : '')));
    return uids.every((u) => known.has(u));
  }

  count(user: string): Promise<number> {
    return this.#store.count(user);
  }

  /** Replaces the account's archive (an import), under the account's lock. */
  replace(user: string, entries: readonly { value: ArchivedMessage; when: Date }[]): Promise<void> {
    return this.#locks.run(user, async () => {
      await this.#store.deleteAll(user);
      for (const e of entries.slice(-this.#maxMessages)) await this.#store.append(user, e.value, e.when);
    });
  }

  purgeOlderThan(cutoff: Date): Promise<number> {
    return this.#store.purgeOlderThan(cutoff);
  }
}
