// Persistent rooms: their configuration and affiliations (never messages, never the subject) in
// the declared 'rooms' store. Records are keyed 'room:<localpart>': a ':' never occurs in an
// account name (RFC 7622), so deleting or exporting the account 'x' never touches the room 'x'.
import type { Json, KeyValueStore } from '../../core/storage.ts';
import type { AffiliationEntry, RoomConfig } from './room.ts';
import type { Room } from './room.ts';

const PREFIX = 'room:';

export interface StoredRoom {
  config: RoomConfig;
  affiliations: Record<string, AffiliationEntry>;
}

export class RoomStore {
  readonly #store: KeyValueStore<Json>;

  constructor(store: KeyValueStore<Json>) {
    this.#store = store;
  }

  async loadAll(): Promise<Map<string, StoredRoom>> {
    const out = new Map<string, StoredRoom>();
    for (const key of await this.#store.users()) {
      if (!key.startsWith(PREFIX)) continue;
      const v = await this.#store.get(key);
      if (v) out.set(key.slice(PREFIX.length), v as unknown as StoredRoom);
    }
    return out;
  }

  /** Saves a persistent room, or forgets a temporary one. */
  async save(room: Room): Promise<void> {
    if (!room.config.persistent || room.destroyed) return this.#store.delete(PREFIX + room.local);
    const stored: StoredRoom = { config: room.config, affiliations: Object.fromEntries(room.affiliations) };
    await this.#store.set(PREFIX + room.local, stored as unknown as Json);
  }

  async delete(local: string): Promise<void> {
    await this.#store.delete(PREFIX + local);
  }
}
