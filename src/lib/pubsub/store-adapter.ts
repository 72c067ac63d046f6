// PubsubStorage over two map stores of the hosting module: node records by (service, node) and
// items by (service, [node, id]). The stores seal values at rest; the service key is the store's
// "user", so an account's PEP data goes with the account (export, deletion) like any store.
import type { MapStore } from '../../core/storage.ts';
import type { NodeRecord, PubsubStorage, StoredItem } from './api.ts';

function itemKey(node: string, id: string): string {
  // JSON keeps node names and ids of any characters apart.
  return JSON.stringify([node, id]);
}

export class StorePubsubStorage implements PubsubStorage {
  readonly #nodes: MapStore<NodeRecord>;
  readonly #items: MapStore<StoredItem>;

  constructor(nodes: MapStore<NodeRecord>, items: MapStore<StoredItem>) {
    this.#nodes = nodes;
    this.#items = items;
  }

  getNode(service: string, node: string): Promise<NodeRecord | undefined> {
    return this.#nodes.get(service, node);
  }

  allNodes(service: string): Promise<Map<string, NodeRecord>> {
    return this.#nodes.getAll(service);
  }

  async write(service: string, node: string, record: NodeRecord | undefined, items: { set?: Map<string, StoredItem>; delete?: readonly string[] }): Promise<void> {
    await this.#nodes.transaction(async (tx) => {
      const nodes = tx.map(this.#nodes);
      const stored = tx.map(this.#items);
      if (record) nodes.set(service, node, record);
      else nodes.delete(service, node);
      for (const id of items.delete ?? []) stored.delete(service, itemKey(node, id));
      for (const [id, item] of items.set ?? []) stored.set(service, itemKey(node, id), item);
    });
  }

  getItem(service: string, node: string, id: string): Promise<StoredItem | undefined> {
    return this.#items.get(service, itemKey(node, id));
  }

  async deleteService(service: string): Promise<void> {
    await this.#nodes.transaction(async (tx) => {
      tx.map(this.#nodes).deleteAll(service);
      tx.map(this.#items).deleteAll(service);
    });
  }
}
