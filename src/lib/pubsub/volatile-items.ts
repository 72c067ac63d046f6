// Items of nodes with pubsub#persist_items false: memory only, lost on restart, bounded by a node
// count and a byte total across all services (the least recently written node goes first).
import type { StoredItem } from './api.ts';

interface VolatileNode {
  /** Oldest first. */
  ids: string[];
  items: Map<string, StoredItem>;
  bytes: number;
}

function sizeOf(item: StoredItem): number {
  return JSON.stringify(item).length;
}

export class VolatileItems {
  readonly #nodes = new Map<string, VolatileNode>();
  readonly #maxNodes: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxNodes: number, maxBytes: number) {
    this.#maxNodes = maxNodes;
    this.#maxBytes = maxBytes;
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
    const entry = this.#nodes.get(key) ?? { ids: [], items: new Map<string, StoredItem>(), bytes: 0 };
    this.#nodes.delete(key);
    this.#drop(entry, id);
    entry.ids.push(id);
    entry.items.set(id, item);
    const size = sizeOf(item);
    entry.bytes += size;
    this.#bytes += size;
    while (entry.ids.length > max) this.#drop(entry, entry.ids[0] ?? '');
    this.#nodes.set(key, entry);
    while (this.#nodes.size > this.#maxNodes || (this.#bytes > this.#maxBytes && this.#nodes.size > 1)) {
      const oldest = this.#nodes.keys().next().value;
      if (oldest === undefined) break;
      this.#clearKey(oldest);
    }
  }

  #drop(entry: VolatileNode, id: string): boolean {
    const item = entry.items.get(id);
    if (!item) return false;
    const size = sizeOf(item);
    entry.items.delete(id);
    entry.ids = entry.ids.filter((i) => i !== id);
    entry.bytes -= size;
    this.#bytes -= size;
    return true;
  }

  remove(service: string, node: string, id: string): boolean {
    const entry = this.#nodes.get(this.#key(service, node));
    return entry ? this.#drop(entry, id) : false;
  }

  clear(service: string, node: string): void {
    this.#clearKey(this.#key(service, node));
  }

  #clearKey(key: string): void {
    const entry = this.#nodes.get(key);
    if (!entry) return;
    this.#bytes -= entry.bytes;
    this.#nodes.delete(key);
  }

  clearService(service: string): void {
    // Keys are JSON arrays: '["service",' starts every node key of that service and no other.
    const prefix = JSON.stringify([service]).slice(0, -1) + ',';
    for (const key of [...this.#nodes.keys()]) if (key.startsWith(prefix)) this.#clearKey(key);
  }

  /** Bytes held (approximately, as JSON), for tests. */
  get bytes(): number {
    return this.#bytes;
  }
}
