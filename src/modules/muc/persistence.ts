// Persistent rooms: their configuration and affiliations (never messages, never the subject) in
// the declared 'rooms' store, keyed by the room's localpart.
import type { Json, KeyValueStore } from '../../core/storage.ts';
import type { AffiliationEntry, RoomConfig } from './room.ts';
import type { Room } from './room.ts';

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
    for (const local of await this.#store.users()) {
      const v = await this.#store.get(local);
      if (v) out.set(local, v as unknown as StoredRoom);
    }
    return out;
  }

  /** Saves a persistent room, or forgets a temporary one. */
  async save(room: Room): Promise<void> {
    if (!room.config.persistent || room.destroyed) return this.#store.delete(room.local);
    const stored: StoredRoom = { config: room.config, affiliations: Object.fromEntries(room.affiliations) };
    await this.#store.set(room.local, stored as unknown as Json);
  }

  async delete(local: string): Promise<void> {
    await this.#store.delete(local);
  }
}
