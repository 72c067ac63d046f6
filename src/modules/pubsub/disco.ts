// XEP-0060 §5 discovery on pubsub.<host>: the service's identity and features (§5.1), its nodes
// (§5.2), a node's identity and meta-data form (§5.3, §5.4), a node's items (§5.5).
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { buildForm } from '../../lib/data-form.ts';
import { NS_META_DATA, NS_PUBSUB, type PubsubEngine } from '../../lib/pubsub/api.ts';

export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

/** §10: the features this service offers, as NS_PUBSUB#feature. */
const FEATURES = [
  'access-open', 'access-presence', 'access-roster', 'access-whitelist', 'config-node', 'config-node-max', 'create-and-configure',
  'create-nodes', 'delete-items', 'delete-nodes', 'instant-nodes', 'item-ids', 'manage-subscriptions',
  'member-affiliation', 'meta-data', 'modify-affiliations', 'outcast-affiliation', 'persistent-items', 'publish',
  'publish-options', 'publisher-affiliation', 'purge-nodes', 'retract-items', 'retrieve-affiliations', 'retrieve-default',
  'retrieve-items', 'retrieve-subscriptions', 'subscribe', 'rsm',
];

export function serviceInfo(): Element {
  return el(
    'query',
    { xmlns: NS_DISCO_INFO },
    el('identity', { category: 'pubsub', type: 'service', name: 'Publish-subscribe' }),
    el('feature', { var: NS_DISCO_INFO }),
    el('feature', { var: NS_DISCO_ITEMS }),
    el('feature', { var: NS_PUBSUB }),
    ...FEATURES.map((f) => el('feature', { var: `${NS_PUBSUB}#${f}` })),
  );
}

/** A node the requester may see, or item-not-found (§5.3: a hidden node is not admitted to exist). */
async function visibleNode(engine: PubsubEngine, service: string, node: string, from: Jid) {
  const listed = (await engine.nodes(service, from)).find((n) => n.node === node);
  if (!listed) throw new StanzaError('item-not-found', 'No such node');
  return listed;
}

export async function nodeInfo(engine: PubsubEngine, service: string, node: string, from: Jid, owners: readonly string[]): Promise<Element> {
  const { config } = await visibleNode(engine, service, node, from);
  return el(
    'query',
    { xmlns: NS_DISCO_INFO, node },
    el('identity', { category: 'pubsub', type: 'leaf' }),
    el('feature', { var: NS_PUBSUB }),
    // §5.4: the node's meta-data (XEP-0128).
    buildForm({
      type: 'result',
      formType: NS_META_DATA,
      fields: [
        { var: 'pubsub#type', values: config.type ? [config.type] : [] },
        { var: 'pubsub#title', values: [config.title] },
        { var: 'pubsub#description', values: [config.description] },
        { var: 'pubsub#access_model', values: [config.accessModel] },
        { var: 'pubsub#owner', type: 'jid-multi', values: [...owners] },
      ],
    }),
  );
}

export async function serviceItems(engine: PubsubEngine, service: string, domain: string, from: Jid): Promise<Element> {
  const nodes = await engine.nodes(service, from);
  return el('query', { xmlns: NS_DISCO_ITEMS }, ...nodes.map((n) => el('item', { jid: domain, node: n.node, name: n.config.title || undefined })));
}

/** §5.5: the node's item ids (as names), when the requester may read them. */
export async function nodeItems(engine: PubsubEngine, service: string, domain: string, node: string, from: Jid): Promise<Element> {
  await visibleNode(engine, service, node, from);
  if (!(await engine.mayRead(service, node, from))) return el('query', { xmlns: NS_DISCO_ITEMS, node });
  const page = await engine.items(service, from, node);
  return el('query', { xmlns: NS_DISCO_ITEMS, node }, ...page.items.map((i) => el('item', { jid: domain, name: i.id })));
}
