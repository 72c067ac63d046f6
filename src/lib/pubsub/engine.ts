// The PubSub engine (XEP-0060): nodes, items, affiliations and subscriptions of any number of
// services, over the host's storage and access callback. Changes to one service run one at a
// time (a keyed lock); events go to the host after they are stored.
import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import type { Element } from '../../core/xml/element.ts';
import { elementFromJson, elementToJson } from '../../core/xml/xml-json.ts';
import { KeyedLock } from '../keyed-lock.ts';
import type {
  Affiliation, ItemsPage, ItemsQuery, NodeConfig, NodeRecord, NodeSummary, OwnerRelation, PubsubEngine, PubsubEngineOptions,
  PubsubEvent, PubsubIqRequest, PubsubItem, RelationResolver, StoredItem,
} from './api.ts';
import { affiliationOf, checkOwner, checkPublish, checkRead, mayRead } from './access.ts';
import { BASE_DEFAULTS, checkConfigValues, checkPreconditions, effectiveMaxItems } from './config.ts';
import { noSuchNode, nodeIdRequired, pubsubError } from './errors.ts';
import { VolatileItems } from './volatile-items.ts';
import { handlePubsubIq } from './iq.ts';
import { exportService, importService } from './portable.ts';

/** Nodes whose non-persistent items are kept in memory at once, across all services, and their bytes. */
const MAX_VOLATILE_NODES = 10_000;
const MAX_VOLATILE_BYTES = 64 * 1024 * 1024;
/** Payload bytes of one items result when the host sets no maxResultBytes. */
const DEFAULT_MAX_RESULT_BYTES = 1024 * 1024;
/** Longest node name and item id accepted (bytes of UTF-8). */
export const MAX_NAME_BYTES = 1024;

/** What the IQ layer and the portable format need beyond the public interface. */
export interface EngineInternals extends PubsubEngine {
  readonly options: PubsubEngineOptions;
  defaults(): NodeConfig;
  record(service: string, node: string): Promise<NodeRecord | undefined>;
  allRecords(service: string): Promise<Map<string, NodeRecord>>;
  itemIds(service: string, record: NodeRecord, node: string): string[];
  loadItem(service: string, node: string, id: string, record: NodeRecord): Promise<PubsubItem | undefined>;
  /** Writes a whole node (import): record and items, replacing what was there. */
  storeNode(service: string, node: string, record: NodeRecord, items: Map<string, StoredItem>): Promise<void>;
}

function checkName(kind: 'node' | 'item id', name: string): void {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw pubsubError('not-acceptable', undefined, `The ${kind} is longer than ${MAX_NAME_BYTES} bytes`);
}

function toItem(id: string, stored: StoredItem): PubsubItem {
  return { id, payload: elementFromJson(stored.payload), publisher: stored.publisher, published: new Date(stored.published) };
}

class Engine implements EngineInternals {
  readonly options: PubsubEngineOptions;
  readonly #lock = new KeyedLock();
  readonly #volatile = new VolatileItems(MAX_VOLATILE_NODES, MAX_VOLATILE_BYTES);

  constructor(options: PubsubEngineOptions) {
    this.options = options;
  }

  defaults(): NodeConfig {
    return { ...BASE_DEFAULTS, ...this.options.defaults };
  }

  record(service: string, node: string): Promise<NodeRecord | undefined> {
    return this.options.storage.getNode(service, node);
  }

  allRecords(service: string): Promise<Map<string, NodeRecord>> {
    return this.options.storage.allNodes(service);
  }

  #owners(service: string): readonly string[] {
    return this.options.serviceOwners(service);
  }

  async #existing(service: string, node: string): Promise<NodeRecord> {
    if (node === '') throw nodeIdRequired();
    const record = await this.record(service, node);
    if (!record) throw noSuchNode();
    return record;
  }

  itemIds(service: string, record: NodeRecord, node: string): string[] {
    return record.config.persistItems ? record.items : this.#volatile.ids(service, node);
  }

  async loadItem(service: string, node: string, id: string, record: NodeRecord): Promise<PubsubItem | undefined> {
    const stored = record.config.persistItems ? await this.options.storage.getItem(service, node, id) : this.#volatile.get(service, node, id);
    return stored ? toItem(id, stored) : undefined;
  }

  async #emit(event: PubsubEvent): Promise<void> {
    await this.options.notify(event);
  }

  handleIq(req: PubsubIqRequest): Promise<Element | undefined> {
    return handlePubsubIq(this, req);
  }

  #newRecord(config: NodeConfig, creator: string, service: string): NodeRecord {
    const affiliations: Record<string, Affiliation> = {};
    if (!this.#owners(service).includes(creator)) affiliations[creator] = 'owner';
    return { config, affiliations, subscriptions: {}, items: [], created: new Date().toISOString() };
  }

  async #checkNodeCount(service: string): Promise<void> {
    const count = (await this.allRecords(service)).size;
    if (count >= this.options.limits.maxNodes) {
      throw pubsubError('policy-violation', 'max-nodes-exceeded', `At most ${this.options.limits.maxNodes} nodes`);
    }
  }

  async publish(service: string, requester: Jid, node: string, item: { id?: string; payload: Element }, options?: Partial<NodeConfig>): Promise<string> {
    if (node === '') throw nodeIdRequired();
    checkName('node', node);
    if (item.id !== undefined) checkName('item id', item.id);
    const limits = this.options.limits;
    const size = Buffer.byteLength(item.payload.toString());
    if (size > limits.maxPayloadBytes) {
      throw pubsubError('not-acceptable', 'payload-too-big', `The item is larger than ${limits.maxPayloadBytes} bytes`);
    }
    if (options) checkConfigValues(options, limits.maxItemsPerNode);
    const bare = requester.bare().toString();
    const id = item.id !== undefined && item.id !== '' ? item.id : (this.options.newItemId?.() ?? randomUUID());
    const stored: StoredItem = { payload: elementToJson(item.payload), publisher: bare, published: new Date().toISOString() };
    const record = await this.#lock.run(service, async () => {
      let rec = await this.record(service, node);
      if (!rec) {
        // §7.1.4 auto-create; without it (or the right to create) the node just isn't there.
        if (!this.options.autoCreate) throw noSuchNode();
        if (!this.options.mayCreate(service, requester)) throw new StanzaError('forbidden', 'You may not create nodes here');
        await this.#checkNodeCount(service);
        rec = this.#newRecord({ ...this.defaults(), ...options }, bare, service);
      } else {
        if (this.options.ownersOnlyPublish) checkOwner(rec, bare, this.#owners(service));
        else await checkPublish(rec, bare, this.#owners(service), this.options.relation, rec.subscriptions[bare] !== undefined);
        if (options) checkPreconditions(rec.config, options);
      }
      const max = effectiveMaxItems(rec.config, limits.maxItemsPerNode);
      if (rec.config.persistItems) {
        const ids = rec.items.filter((i) => i !== id);
        ids.push(id);
        const dropped = ids.splice(0, Math.max(0, ids.length - max));
        rec = { ...rec, items: ids };
        await this.options.storage.write(service, node, rec, { set: new Map([[id, stored]]), delete: dropped });
      } else {
        await this.options.storage.write(service, node, rec, {});
        this.#volatile.put(service, node, id, stored, max);
      }
      return rec;
    });
    await this.#emit({ kind: 'published', service, node, config: record.config, subscribers: Object.keys(record.subscriptions), items: [toItem(id, stored)], publisher: requester });
    return id;
  }

  async items(service: string, requester: Jid, node: string, query: ItemsQuery = {}): Promise<ItemsPage> {
    const record = await this.#existing(service, node);
    await checkRead(record, requester.bare().toString(), this.#owners(service), this.options.relation);
    // Newest first.
    let ids = [...this.itemIds(service, record, node)].reverse();
    if (query.ids && query.ids.length > 0) {
      const wanted = new Set(query.ids);
      ids = ids.filter((i) => wanted.has(i));
      if (ids.length === 0) throw new StanzaError('item-not-found', 'No such item');
    }
    if (query.max !== undefined) ids = ids.slice(0, query.max);
    const count = ids.length;
    let first = 0;
    const rsm = query.rsm;
    if (rsm) {
      let end = ids.length;
      if (rsm.after !== undefined) {
        const at = ids.indexOf(rsm.after);
        if (at < 0) throw new StanzaError('item-not-found', 'The RSM position is not an item of the node');
        first = at + 1;
      } else if (rsm.index !== undefined) {
        first = Math.min(rsm.index, ids.length);
      }
      if (rsm.before !== undefined) {
        const at = rsm.before === '' ? ids.length : ids.indexOf(rsm.before);
        if (at < 0) throw new StanzaError('item-not-found', 'The RSM position is not an item of the node');
        end = at;
        if (rsm.max !== undefined) first = Math.max(0, end - rsm.max);
      }
      const pageEnd = rsm.max !== undefined ? Math.min(end, first + rsm.max) : end;
      ids = ids.slice(first, pageEnd);
    }
    const items: PubsubItem[] = [];
    const budget = this.options.limits.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    let bytes = 0;
    for (const id of ids) {
      const item = await this.loadItem(service, node, id, record);
      if (!item) continue;
      bytes += Buffer.byteLength(item.payload.toString());
      // At least one item, whatever its size (it fit the payload limit when published).
      if (bytes > budget && items.length > 0) return { items, count, firstIndex: first, truncated: true };
      items.push(item);
    }
    return { items, count, firstIndex: first };
  }

  async retract(service: string, requester: Jid, node: string, id: string, notify?: boolean): Promise<void> {
    if (id === '') throw pubsubError('bad-request', 'item-required', 'The request names no item');
    const bare = requester.bare().toString();
    const record = await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      const aff = affiliationOf(rec, bare, this.#owners(service));
      const item = await this.loadItem(service, node, id, rec);
      // §7.2.3.1: owners and publishers retract anything; publish-only entities their own items.
      const allowed = aff === 'owner' || (!this.options.ownersOnlyPublish && (aff === 'publisher' || (aff === 'publish-only' && item?.publisher === bare)));
      if (!allowed) throw new StanzaError('forbidden', 'You may not retract items of this node');
      if (!item) throw new StanzaError('item-not-found', 'No such item');
      if (rec.config.persistItems) {
        const next = { ...rec, items: rec.items.filter((i) => i !== id) };
        await this.options.storage.write(service, node, next, { delete: [id] });
        return next;
      }
      this.#volatile.remove(service, node, id);
      return rec;
    });
    if (notify === false || (notify === undefined && !record.config.notifyRetract)) return;
    await this.#emit({ kind: 'retracted', service, node, config: record.config, subscribers: Object.keys(record.subscriptions), ids: [id] });
  }

  async createNode(service: string, requester: Jid, node: string, config?: Partial<NodeConfig>): Promise<void> {
    if (node === '') throw pubsubError('not-acceptable', 'nodeid-required', 'Instant nodes are not offered: name the node');
    checkName('node', node);
    if (!this.options.mayCreate(service, requester)) throw new StanzaError('forbidden', 'You may not create nodes here');
    if (config) checkConfigValues(config, this.options.limits.maxItemsPerNode);
    await this.#lock.run(service, async () => {
      if (await this.record(service, node)) throw new StanzaError('conflict', 'The node exists already');
      await this.#checkNodeCount(service);
      await this.options.storage.write(service, node, this.#newRecord({ ...this.defaults(), ...config }, requester.bare().toString(), service), {});
    });
  }

  async deleteNode(service: string, requester: Jid, node: string, redirect?: string): Promise<void> {
    const record = await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      checkOwner(rec, requester.bare().toString(), this.#owners(service));
      await this.options.storage.write(service, node, undefined, { delete: rec.items });
      this.#volatile.clear(service, node);
      return rec;
    });
    if (!record.config.notifyDelete) return;
    await this.#emit({ kind: 'deleted', service, node, config: record.config, subscribers: Object.keys(record.subscriptions), redirect });
  }

  async purge(service: string, requester: Jid, node: string): Promise<void> {
    const record = await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      checkOwner(rec, requester.bare().toString(), this.#owners(service));
      const next = { ...rec, items: [] };
      await this.options.storage.write(service, node, next, { delete: rec.items });
      this.#volatile.clear(service, node);
      return next;
    });
    if (!record.config.notifyRetract) return;
    await this.#emit({ kind: 'purged', service, node, config: record.config, subscribers: Object.keys(record.subscriptions) });
  }

  async configure(service: string, requester: Jid, node: string, config: Partial<NodeConfig>): Promise<void> {
    checkConfigValues(config, this.options.limits.maxItemsPerNode);
    const record = await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      checkOwner(rec, requester.bare().toString(), this.#owners(service));
      const next: NodeRecord = { ...rec, config: { ...rec.config, ...config } };
      const drop: string[] = [];
      if (next.config.persistItems && rec.config.persistItems) {
        // A smaller max_items takes effect at once (oldest go).
        const max = effectiveMaxItems(next.config, this.options.limits.maxItemsPerNode);
        drop.push(...next.items.slice(0, Math.max(0, next.items.length - max)));
        next.items = next.items.slice(drop.length);
      } else if (next.config.persistItems !== rec.config.persistItems) {
        // Switching storage drops the items rather than moving them between memory and disk.
        drop.push(...rec.items);
        next.items = [];
        this.#volatile.clear(service, node);
      }
      await this.options.storage.write(service, node, next, { delete: drop });
      return next;
    });
    if (record.config.notifyConfig) {
      await this.#emit({ kind: 'configured', service, node, config: record.config, subscribers: Object.keys(record.subscriptions) });
    }
  }

  async nodeConfig(service: string, node: string): Promise<NodeConfig | undefined> {
    return (await this.record(service, node))?.config;
  }

  async nodes(service: string, requester: Jid): Promise<NodeSummary[]> {
    const bare = requester.bare().toString();
    const out: NodeSummary[] = [];
    // One roster lookup per owner for the whole listing, however many nodes ask.
    const known = new Map<string, Promise<OwnerRelation>>();
    const relation: RelationResolver = (owner, who) => {
      const key = JSON.stringify([owner, who]);
      let r = known.get(key);
      if (!r) known.set(key, (r = this.options.relation(owner, who)));
      return r;
    };
    for (const [node, record] of await this.allRecords(service)) {
      if (await mayRead(record, bare, this.#owners(service), relation)) out.push({ node, config: record.config });
    }
    return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  async mayRead(service: string, node: string, requester: Jid): Promise<boolean> {
    const record = await this.record(service, node);
    return record !== undefined && mayRead(record, requester.bare().toString(), this.#owners(service), this.options.relation);
  }

  async readers(service: string, node: string, relation: RelationResolver = this.options.relation): Promise<((bare: string) => Promise<boolean>) | undefined> {
    const record = await this.record(service, node);
    if (!record) return undefined;
    const owners = this.#owners(service);
    return (bare) => mayRead(record, bare, owners, relation);
  }

  async lastItem(service: string, node: string): Promise<PubsubItem | undefined> {
    const record = await this.record(service, node);
    if (!record) return undefined;
    const id = this.itemIds(service, record, node).at(-1);
    return id === undefined ? undefined : this.loadItem(service, node, id, record);
  }

  async subscribers(service: string, node: string): Promise<string[]> {
    return Object.keys((await this.record(service, node))?.subscriptions ?? {});
  }

  async subscribe(service: string, requester: Jid, node: string, jid: Jid): Promise<{ subid: string }> {
    // §6.1.3.1: the subscribed JID must be the requester's (bare or full).
    if (!jid.bare().equals(requester.bare())) throw pubsubError('bad-request', 'invalid-jid', 'You may subscribe only your own address');
    const key = jid.toString();
    const { record, subid, fresh } = await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      await checkRead(rec, requester.bare().toString(), this.#owners(service), this.options.relation);
      const had = rec.subscriptions[key];
      if (had !== undefined) return { record: rec, subid: had, fresh: false };
      if (Object.keys(rec.subscriptions).length >= this.options.limits.maxSubscriptionsPerNode) {
        throw pubsubError('policy-violation', 'too-many-subscriptions', `At most ${this.options.limits.maxSubscriptionsPerNode} subscriptions to this node`);
      }
      const id = randomUUID();
      const next = { ...rec, subscriptions: { ...rec.subscriptions, [key]: id } };
      await this.options.storage.write(service, node, next, {});
      return { record: next, subid: id, fresh: true };
    });
    if (fresh && record.config.sendLastPublishedItem !== 'never') {
      const item = await this.lastItem(service, node);
      if (item) await this.#emit({ kind: 'last', service, node, config: record.config, subscribers: Object.keys(record.subscriptions), item, to: jid });
    }
    return { subid };
  }

  async unsubscribe(service: string, requester: Jid, node: string, jid: Jid): Promise<void> {
    const bare = requester.bare().toString();
    const owner = affiliationOf(await this.record(service, node), bare, this.#owners(service)) === 'owner';
    // §6.2.3.3: only the subscriber (or an owner) may cancel a subscription.
    if (!owner && !jid.bare().equals(requester.bare())) throw new StanzaError('forbidden', 'You may unsubscribe only your own address');
    await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      const key = jid.toString();
      if (rec.subscriptions[key] === undefined) throw pubsubError('unexpected-request', 'not-subscribed', 'That address has no subscription to this node');
      const subscriptions = { ...rec.subscriptions };
      delete subscriptions[key];
      await this.options.storage.write(service, node, { ...rec, subscriptions }, {});
    });
  }

  async affiliations(service: string, requester: Jid, node: string): Promise<Record<string, Affiliation>> {
    const rec = await this.#existing(service, node);
    checkOwner(rec, requester.bare().toString(), this.#owners(service));
    const out: Record<string, Affiliation> = {};
    for (const owner of this.#owners(service)) out[owner] = 'owner';
    return { ...out, ...rec.affiliations };
  }

  async setAffiliations(service: string, requester: Jid, node: string, changes: Record<string, Affiliation>): Promise<void> {
    await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      checkOwner(rec, requester.bare().toString(), this.#owners(service));
      const affiliations = { ...rec.affiliations };
      const subscriptions = { ...rec.subscriptions };
      for (const [jid, aff] of Object.entries(changes)) {
        // The service's own owners stay owners whatever is asked (PEP: the account).
        if (this.#owners(service).includes(jid)) {
          if (aff !== 'owner') throw pubsubError('not-acceptable', undefined, `${jid} owns the service and stays an owner`);
          continue;
        }
        if (aff === 'none') delete affiliations[jid];
        else affiliations[jid] = aff;
        // §4.1: outcasts lose their subscriptions.
        if (aff === 'outcast') for (const sub of Object.keys(subscriptions)) if (sub === jid || sub.startsWith(jid + '/')) delete subscriptions[sub];
      }
      const owners = this.#owners(service).length + Object.values(affiliations).filter((a) => a === 'owner').length;
      // §8.9.2.4 would leave the node ownerless: refused.
      if (owners === 0) throw pubsubError('not-acceptable', undefined, 'A node needs an owner');
      await this.options.storage.write(service, node, { ...rec, affiliations, subscriptions }, {});
    });
  }

  async setSubscriptions(service: string, requester: Jid, node: string, changes: Record<string, 'subscribed' | 'none'>): Promise<void> {
    await this.#lock.run(service, async () => {
      const rec = await this.#existing(service, node);
      checkOwner(rec, requester.bare().toString(), this.#owners(service));
      const subscriptions = { ...rec.subscriptions };
      for (const [jid, state] of Object.entries(changes)) {
        if (state === 'none') delete subscriptions[jid];
        else subscriptions[jid] ??= randomUUID();
      }
      if (Object.keys(subscriptions).length > this.options.limits.maxSubscriptionsPerNode) {
        throw pubsubError('policy-violation', 'too-many-subscriptions', `At most ${this.options.limits.maxSubscriptionsPerNode} subscriptions to this node`);
      }
      await this.options.storage.write(service, node, { ...rec, subscriptions }, {});
    });
  }

  async deleteService(service: string): Promise<void> {
    await this.#lock.run(service, async () => {
      await this.options.storage.deleteService(service);
      this.#volatile.clearService(service);
    });
  }

  async storeNode(service: string, node: string, record: NodeRecord, items: Map<string, StoredItem>): Promise<void> {
    await this.#lock.run(service, async () => {
      const old = await this.record(service, node);
      await this.options.storage.write(service, node, record, { delete: old?.items ?? [], set: items });
    });
  }

  exportService(service: string): Promise<Element[]> {
    return exportService(this, service);
  }

  importService(service: string, elements: readonly Element[]): Promise<void> {
    return importService(this, service, elements);
  }
}

/** Builds an engine for one host module; services are keyed by the host (see PubsubEngineOptions). */
export function createPubsubEngine(options: PubsubEngineOptions): PubsubEngine {
  return new Engine(options);
}
