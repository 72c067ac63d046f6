// Items of nodes with pubsub#persist_items false: memory only, lost on restart, bounded (the
// least recently written node goes first past the cap).
import type { StoredItem } from './api.ts';

interface VolatileNode {
  /** Oldest first. */
  ids: string[];
  items: Map<string, StoredItem>;
}

export class VolatileItems {
  readonly #nodes = new Map<string, VolatileNode>();
  readonly #maxNodes: number;

  constructor(maxNodes: number) {
    this.#maxNodes = maxNodes;
  }

  #key(service: string, node: string): string {
    return JSON.stringify([service, node]);
  }

  ids(service: string, node: string): string[] {
    return this.#nodes.get(this.#key(service, node))?.ids ?? [];
  }

  get(service: string, node: string, id: string): StoredItem | undefined {
    return this.#nodes.get(this.#key(service, node))?.items.get(id);
  }

  /** Adds (or replaces, moving it to newest) an item; keeps at most `max`. */
  put(service: string, node: string, id: string, item: StoredItem, max: number): void {
    const key = this.#key(service, node);
    const entry = this.#nodes.get(key) ?? { ids: [], items: new Map<string, StoredItem>() };
    this.#nodes.delete(key);
    entry.ids = entry.ids.filter((i) => i !== id);
    entry.ids.push(id);
    entry.items.set(id, item);
    while (entry.ids.length > max) entry.items.delete(entry.ids.shift() ?? '');
    this.#nodes.set(key, entry);
    if (this.#nodes.size > this.#maxNodes) {
      const oldest = this.#nodes.keys().next().value;
      if (oldest !== undefined) this.#nodes.delete(oldest);
    }
  }

  remove(service: string, node: string, id: string): boolean {
    const entry = this.#nodes.get(this.#key(service, node));
    if (!entry?.items.delete(id)) return false;
    entry.ids = entry.ids.filter((i) => i !== id);
    return true;
  }

  clear(service: string, node: string): void {
    this.#nodes.delete(this.#key(service, node));
  }

  clearService(service: string): void {
    // Keys are JSON arrays: '["service",' starts every node key of that service and no other.
    const prefix = JSON.stringify([service]).slice(0, -1) + ',';
    for (const key of [...this.#nodes.keys()]) if (key.startsWith(prefix)) this.#nodes.delete(key);
  }
}
