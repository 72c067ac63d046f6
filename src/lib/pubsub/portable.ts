// XEP-0227 form of a pubsub service (PEP data of a <user/>), laid out as Prosody's exporter does:
// <pubsub xmlns='...#owner'> with each node's <configure/> form and <affiliations/>, and
// <pubsub xmlns='...pubsub'> with each node's <items/>, oldest first.
import { Buffer } from 'node:buffer';
import { el, type Element } from '../../core/xml/element.ts';
import { elementToJson } from '../../core/xml/xml-json.ts';
import { findForm } from '../data-form.ts';
import { NS_NODE_CONFIG, NS_PUBSUB, NS_PUBSUB_OWNER, type Affiliation, type NodeRecord, type StoredItem } from './api.ts';
import { configForm, readConfigForm, effectiveMaxItems } from './config.ts';
import { StanzaError } from '../../core/errors.ts';
import type { EngineInternals } from './engine.ts';

const AFFILIATIONS: ReadonlySet<string> = new Set<Affiliation>(['owner', 'publisher', 'publish-only', 'member', 'outcast']);

export async function exportService(engine: EngineInternals, service: string): Promise<Element[]> {
  const records = [...(await engine.allRecords(service))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (records.length === 0) return [];
  const limit = engine.options.limits.maxItemsPerNode;
  const ownerPart = el('pubsub', { xmlns: NS_PUBSUB_OWNER });
  const itemsPart = el('pubsub', { xmlns: NS_PUBSUB });
  for (const [node, record] of records) {
    const form = configForm(record.config, 'form', limit);
    form.attrs['type'] = 'submit';
    ownerPart.append(el('configure', { node }, form));
    const affs = Object.entries(record.affiliations);
    if (affs.length > 0) ownerPart.append(el('affiliations', { node }, ...affs.map(([jid, affiliation]) => el('affiliation', { jid, affiliation }))));
    const items: Element[] = [];
    // Non-persistent items are not data the account keeps: only stored items go along.
    for (const id of record.config.persistItems ? record.items : []) {
      const item = await engine.loadItem(service, node, id, record);
      if (item) items.push(el('item', { id, publisher: item.publisher }, item.payload));
    }
    itemsPart.append(el('items', { node }, ...items));
  }
  return [ownerPart, itemsPart];
}

function fail(text: string): never {
  throw new Error(`pep: ${text}`);
}

export async function importService(engine: EngineInternals, service: string, elements: readonly Element[]): Promise<void> {
  const ownerPart = elements.find((e) => e.name === 'pubsub' && e.attrs['xmlns'] === NS_PUBSUB_OWNER);
  const itemsPart = elements.find((e) => e.name === 'pubsub' && e.attrs['xmlns'] === NS_PUBSUB);
  if (!ownerPart && !itemsPart) return;
  const { limits } = engine.options;
  const owners = engine.options.serviceOwners(service);
  const records = new Map<string, NodeRecord>();
  const recordOf = (node: string): NodeRecord => {
    let r = records.get(node);
    if (!r) {
      if (records.size >= limits.maxNodes) fail(`more than ${limits.maxNodes} nodes (the nodes limit)`);
      r = { config: engine.defaults(), affiliations: {}, subscriptions: {}, items: [], created: new Date().toISOString() };
      records.set(node, r);
    }
    return r;
  };
  for (const c of ownerPart?.elements ?? []) {
    const node = c.attrs['node'];
    if (!node) fail(`<${c.name}/> without a node`);
    const record = recordOf(node);
    if (c.name === 'configure') {
      const form = findForm(c);
      if (!form) continue;
      try {
        record.config = { ...record.config, ...readConfigForm(form, NS_NODE_CONFIG, limits.maxItemsPerNode, { lenient: true }) };
      } catch (e) {
        fail(`the configuration of node ${node}: ${e instanceof StanzaError ? e.message : String(e)}`);
      }
    } else if (c.name === 'affiliations') {
      for (const a of c.getChildren('affiliation')) {
        const jid = a.attrs['jid'];
        const aff = a.attrs['affiliation'];
        if (!jid || !aff || !AFFILIATIONS.has(aff)) fail(`node ${node} has an unreadable affiliation`);
        if (!owners.includes(jid)) record.affiliations[jid] = aff as Affiliation;
      }
    }
  }
  const items = new Map<string, Map<string, StoredItem>>();
  for (const itemsEl of itemsPart?.getChildren('items') ?? []) {
    const node = itemsEl.attrs['node'];
    if (!node) fail('<items/> without a node');
    const record = recordOf(node);
    const stored = items.get(node) ?? new Map<string, StoredItem>();
    items.set(node, stored);
    for (const item of itemsEl.getChildren('item')) {
      const id = item.attrs['id'];
      const payload = item.elements[0];
      if (!id || !payload) fail(`node ${node} has an item without id or payload`);
      if (Buffer.byteLength(payload.toString()) > limits.maxPayloadBytes) fail(`an item of node ${node} is larger than ${limits.maxPayloadBytes} bytes`);
      record.items = record.items.filter((i) => i !== id);
      record.items.push(id);
      stored.set(id, { payload: elementToJson(payload), publisher: item.attrs['publisher'] ?? owners[0] ?? '', published: new Date().toISOString() });
    }
  }
  for (const [node, record] of records) {
    const stored = items.get(node) ?? new Map<string, StoredItem>();
    // The node's own max_items holds: the newest stay.
    const max = effectiveMaxItems(record.config, limits.maxItemsPerNode);
    for (const id of record.items.splice(0, Math.max(0, record.items.length - max))) stored.delete(id);
    if (!record.config.persistItems) {
      record.items = [];
      stored.clear();
    }
    await engine.storeNode(service, node, record, stored);
  }
}
