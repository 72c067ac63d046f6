// The XML face of the engine: <pubsub/> requests of §6 (entity use cases), §7 (publisher) and §8
// (owner) read into engine calls, and their results written as the XEP shows them.
import { StanzaError, badRequest } from '../../core/errors.ts';
import { JidError, parseJid, type Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { findForm } from '../data-form.ts';
import {
  NS_NODE_CONFIG, NS_PUBLISH_OPTIONS, NS_PUBSUB, NS_PUBSUB_OWNER, NS_RSM,
  type Affiliation, type ItemsQuery, type PubsubIqRequest,
} from './api.ts';
import { configForm, readConfigForm } from './config.ts';
import { nodeIdRequired, pubsubError, unsupported } from './errors.ts';
import type { EngineInternals } from './engine.ts';

const AFFILIATIONS: ReadonlySet<string> = new Set<Affiliation>(['owner', 'publisher', 'publish-only', 'member', 'none', 'outcast']);
/** Most entries one affiliations/subscriptions change or one item-id list may carry. */
const MAX_LIST = 1000;

function nodeOf(e: Element): string {
  const node = e.attrs['node'];
  if (node === undefined || node === '') throw nodeIdRequired();
  return node;
}

function jidAttr(e: Element, name = 'jid'): Jid {
  const raw = e.attrs[name];
  if (raw === undefined) throw pubsubError('bad-request', 'jid-required', 'The request names no JID');
  try {
    return parseJid(raw);
  } catch (err) {
    if (err instanceof JidError) throw pubsubError('bad-request', 'invalid-jid', `${raw} is not a valid JID`);
    throw err;
  }
}

function count(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw badRequest(`${what} must be a whole number`);
  return Number(raw);
}

/** XEP-0059 request inside <pubsub/>. */
function readRsm(pubsub: Element): ItemsQuery['rsm'] {
  const set = pubsub.getChild('set', NS_RSM);
  if (!set) return undefined;
  const out: NonNullable<ItemsQuery['rsm']> = {};
  const max = count(set.getChildText('max'), 'RSM max');
  if (max !== undefined) out.max = max;
  const index = count(set.getChildText('index'), 'RSM index');
  if (index !== undefined) out.index = index;
  const after = set.getChild('after');
  if (after) out.after = after.text();
  const before = set.getChild('before');
  if (before) out.before = before.text();
  return out;
}

function rsmResult(items: { id: string }[], total: number, firstIndex: number): Element {
  const first = items[0];
  const last = items.at(-1);
  return el('set', { xmlns: NS_RSM },
    first ? el('first', { index: String(firstIndex) }, first.id) : null,
    last ? el('last', {}, last.id) : null,
    el('count', {}, String(total)));
}

/** The action element: the first child that is not an auxiliary one (§7.1.5 publish-options, §6.3 options, RSM). */
function actionOf(pubsub: Element): Element {
  const action = pubsub.elements.find((c) => c.name !== 'publish-options' && !(c.name === 'set' && c.attrs['xmlns'] === NS_RSM) && !(c.name === 'configure' && pubsub.getChild('create')) && !(c.name === 'options' && pubsub.getChild('subscribe')));
  if (!action) throw badRequest('The pubsub request names no action');
  return action;
}

export async function handlePubsubIq(engine: EngineInternals, req: PubsubIqRequest): Promise<Element | undefined> {
  const { payload } = req;
  if (payload.name !== 'pubsub') throw badRequest('Expected a <pubsub/> element');
  if (payload.attrs['xmlns'] === NS_PUBSUB_OWNER) return owner(engine, req, actionOf(payload));
  return entity(engine, req, payload, actionOf(payload));
}

async function entity(engine: EngineInternals, req: PubsubIqRequest, pubsub: Element, action: Element): Promise<Element | undefined> {
  const { service, from, type } = req;
  const limit = engine.options.limits.maxItemsPerNode;
  const key = `${type} ${action.name}`;
  switch (key) {
    case 'set publish': {
      const node = nodeOf(action);
      const items = action.getChildren('item');
      // §7.1.3.6: a persistent node needs an item; one item per request here.
      if (items.length === 0) throw pubsubError('bad-request', 'item-required', 'Publish one <item/>');
      if (items.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'Publish one <item/> per request');
      const item = items[0] as Element;
      const payloads = item.elements;
      // §7.1.3.6 / §7.1.3.5: exactly one payload element.
      if (payloads.length === 0) throw pubsubError('bad-request', 'payload-required', 'The item has no payload');
      if (payloads.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'The item has more than one payload element');
      const optionsEl = pubsub.getChild('publish-options');
      const form = optionsEl ? findForm(optionsEl) : undefined;
      const options = form ? readConfigForm(form, NS_PUBLISH_OPTIONS, limit) : undefined;
      const id = await engine.publish(service, from, node, { id: item.attrs['id'], payload: payloads[0] as Element }, options);
      return el('pubsub', { xmlns: NS_PUBSUB }, el('publish', { node }, el('item', { id })));
    }
    case 'set retract': {
      const node = nodeOf(action);
      const ids = action.getChildren('item').map((i) => i.attrs['id'] ?? '');
      if (ids.length === 0 || ids.includes('')) throw pubsubError('bad-request', 'item-required', 'Name the item to retract');
      if (ids.length > MAX_LIST) throw badRequest(`At most ${MAX_LIST} items per request`);
      const n = action.attrs['notify'];
      const notify = n === 'true' || n === '1' ? true : n === 'false' || n === '0' ? false : undefined;
      for (const id of ids) await engine.retract(service, from, node, id, notify);
      return undefined;
    }
    case 'set create': {
      const node = action.attrs['node'] ?? '';
      const configure = pubsub.getChild('configure');
      const form = configure ? findForm(configure) : undefined;
      const config = form ? readConfigForm(form, NS_NODE_CONFIG, limit) : undefined;
      await engine.createNode(service, from, node, config);
      return undefined;
    }
    case 'set subscribe': {
      const node = nodeOf(action);
      const jid = jidAttr(action);
      const { subid } = await engine.subscribe(service, from, node, jid);
      return el('pubsub', { xmlns: NS_PUBSUB }, el('subscription', { node, jid: jid.toString(), subid, subscription: 'subscribed' }));
    }
    case 'set unsubscribe': {
      await engine.unsubscribe(service, from, nodeOf(action), jidAttr(action));
      return undefined;
    }
    case 'get items': {
      const node = nodeOf(action);
      const ids = action.getChildren('item').map((i) => i.attrs['id']).filter((i): i is string => i !== undefined);
      if (ids.length > MAX_LIST) throw badRequest(`At most ${MAX_LIST} item ids per request`);
      const query: ItemsQuery = { ids };
      const max = count(action.attrs['max_items'], 'max_items');
      if (max !== undefined) query.max = max;
      const rsm = readRsm(pubsub);
      if (rsm) query.rsm = rsm;
      const page = await engine.items(service, from, node, query);
      return el('pubsub', { xmlns: NS_PUBSUB },
        el('items', { node }, ...page.items.map((i) => el('item', { id: i.id }, i.payload))),
        rsm || page.truncated ? rsmResult(page.items, page.count, page.firstIndex) : null);
    }
    case 'get subscriptions': {
      // §5.6: the requester's own subscriptions (optionally of one node).
      const only = action.attrs['node'];
      const bare = from.bare().toString();
      const out: Element[] = [];
      for (const [node, record] of await engine.allRecords(service)) {
        if (only !== undefined && node !== only) continue;
        for (const [jid, subid] of Object.entries(record.subscriptions)) {
          if (jid === bare || jid.startsWith(bare + '/')) out.push(el('subscription', { node, jid, subid, subscription: 'subscribed' }));
        }
      }
      return el('pubsub', { xmlns: NS_PUBSUB }, el('subscriptions', { node: only }, ...out));
    }
    case 'get affiliations': {
      // §5.7: the requester's own affiliations.
      const only = action.attrs['node'];
      const bare = from.bare().toString();
      const owners = engine.options.serviceOwners(service);
      const out: Element[] = [];
      for (const [node, record] of await engine.allRecords(service)) {
        if (only !== undefined && node !== only) continue;
        const aff = owners.includes(bare) ? 'owner' : record.affiliations[bare];
        if (aff !== undefined) out.push(el('affiliation', { node, affiliation: aff }));
      }
      return el('pubsub', { xmlns: NS_PUBSUB }, el('affiliations', { node: only }, ...out));
    }
    case 'get options':
    case 'set options':
    case 'get default':
      throw unsupported('subscription-options', 'Subscription options are not offered');
    case 'get publish':
    case 'get retract':
    case 'get create':
    case 'get subscribe':
    case 'get unsubscribe':
    case 'set items':
    case 'set subscriptions':
    case 'set affiliations':
      throw badRequest(`<${action.name}/> goes in an IQ of the other type`);
    default:
      throw new StanzaError('feature-not-implemented', `<${action.name}/> is not a pubsub request this service knows`);
  }
}

async function owner(engine: EngineInternals, req: PubsubIqRequest, action: Element): Promise<Element | undefined> {
  const { service, from, type } = req;
  const limit = engine.options.limits.maxItemsPerNode;
  switch (`${type} ${action.name}`) {
    case 'get configure': {
      const node = nodeOf(action);
      const config = await engine.nodeConfig(service, node);
      if (!config) throw pubsubError('item-not-found', undefined, 'No such node');
      // Only owners see the form (§8.2.3.2); the affiliations call checks that.
      await engine.affiliations(service, from, node);
      return el('pubsub', { xmlns: NS_PUBSUB_OWNER }, el('configure', { node }, configForm(config, 'form', limit)));
    }
    case 'set configure': {
      const node = nodeOf(action);
      const form = findForm(action);
      if (!form) throw badRequest('The configuration needs a data form');
      const config = readConfigForm(form, NS_NODE_CONFIG, limit);
      if (form.attrs['type'] === 'cancel') {
        await engine.affiliations(service, from, node);
        return undefined;
      }
      await engine.configure(service, from, node, config);
      return undefined;
    }
    case 'get default':
      return el('pubsub', { xmlns: NS_PUBSUB_OWNER }, el('default', {}, configForm(engine.defaults(), 'form', limit)));
    case 'set delete': {
      const redirect = action.getChild('redirect')?.attrs['uri'];
      await engine.deleteNode(service, from, nodeOf(action), redirect);
      return undefined;
    }
    case 'set purge':
      await engine.purge(service, from, nodeOf(action));
      return undefined;
    case 'get affiliations': {
      const node = nodeOf(action);
      const affs = await engine.affiliations(service, from, node);
      return el('pubsub', { xmlns: NS_PUBSUB_OWNER },
        el('affiliations', { node }, ...Object.entries(affs).map(([jid, affiliation]) => el('affiliation', { jid, affiliation }))));
    }
    case 'set affiliations': {
      const node = nodeOf(action);
      const changes: Record<string, Affiliation> = {};
      const entries = action.getChildren('affiliation');
      if (entries.length > MAX_LIST) throw badRequest(`At most ${MAX_LIST} changes per request`);
      for (const a of entries) {
        const aff = a.attrs['affiliation'];
        if (aff === undefined || !AFFILIATIONS.has(aff)) throw pubsubError('bad-request', undefined, `Unknown affiliation ${aff ?? ''}`);
        changes[jidAttr(a).bare().toString()] = aff as Affiliation;
      }
      await engine.setAffiliations(service, from, node, changes);
      return undefined;
    }
    case 'get subscriptions': {
      const node = nodeOf(action);
      await engine.affiliations(service, from, node);
      const record = await engine.record(service, node);
      return el('pubsub', { xmlns: NS_PUBSUB_OWNER },
        el('subscriptions', { node }, ...Object.entries(record?.subscriptions ?? {}).map(([jid, subid]) => el('subscription', { jid, subid, subscription: 'subscribed' }))));
    }
    case 'set subscriptions': {
      const node = nodeOf(action);
      const changes: Record<string, 'subscribed' | 'none'> = {};
      const entries = action.getChildren('subscription');
      if (entries.length > MAX_LIST) throw badRequest(`At most ${MAX_LIST} changes per request`);
      for (const s of entries) {
        const state = s.attrs['subscription'];
        if (state !== 'subscribed' && state !== 'none') throw unsupported('manage-subscriptions', `Subscription state ${state ?? ''} is not offered`);
        changes[jidAttr(s).toString()] = state;
      }
      await engine.setSubscriptions(service, from, node, changes);
      return undefined;
    }
    default:
      throw new StanzaError('feature-not-implemented', `<${action.name}/> is not an owner request this service knows`);
  }
}
