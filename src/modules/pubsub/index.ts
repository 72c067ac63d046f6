// XEP-0060 Publish-Subscribe service on pubsub.<host>, on the shared engine (src/lib/pubsub/):
// nodes are owned by JIDs, subscriptions and items persist (sealed) in this module's stores.
import { randomBytes } from 'node:crypto';
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_PUBSUB, NS_PUBSUB_ERRORS, NS_PUBSUB_OWNER, type NodeRecord, type OwnerRelation, type StoredItem } from '../../lib/pubsub/api.ts';
import { createPubsubEngine } from '../../lib/pubsub/engine.ts';
import { StorePubsubStorage } from '../../lib/pubsub/store-adapter.ts';
import { exportAccount, forgetAccount } from './account-data.ts';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, nodeInfo, nodeItems, serviceInfo, serviceItems } from './disco.ts';
import { notify } from './notifications.ts';

const NO_RELATION: OwnerRelation = { subscription: 'none', groups: [] };

export const pubsub = defineModule({
  name: 'pubsub',
  description: 'A publish-subscribe service (XEP-0060) on pubsub.<host>: accounts create nodes, others subscribe and get what is published, as each node\'s access model allows.',
  stores: {
    nodes: {
      kind: 'map',
      what: 'Publish-subscribe nodes',
      detail: 'for each node of the pubsub service: its settings, the addresses of its owners, publishers, members and banned entities, and of its subscribers',
    },
    items: {
      kind: 'map',
      what: 'Publish-subscribe items',
      detail: 'what was published to nodes that keep their items (persist_items), with the publisher\'s address and the time, until retracted, purged or pushed out by newer items',
    },
  },
  enabledByDefault: false,
  xeps: [{ number: 60, version: '1.26.0', status: 'partial', note: 'no collection nodes, no authorize access model, subscription options minimal (no pubsub#subscribe_options form)' }],
  options: {
    domain: option.string('', 'The service\'s domain (empty: pubsub.<host>).'),
    create_nodes: option.enum(['local', 'admins'] as const, 'local', 'Who may create nodes: accounts of this host (local), or the server admins of security.admins (admins).'),
    max_nodes: option.integer(10000, 'Nodes the service holds at most.', { min: 1 }),
    max_nodes_per_owner: option.integer(100, 'Nodes one JID may own at most.', { min: 1 }),
    max_items: option.integer(1000, 'Items one node keeps at most (and what pubsub#max_items \'max\' means).', { min: 1 }),
    max_item_size: option.size('64KiB', 'Largest item payload accepted, serialized.', { min: 256 }),
    max_subscriptions: option.integer(1000, 'Subscriptions one node has at most.', { min: 1 }),
  },
  after: ['roster'],
  setup(ctx) {
    const o = ctx.options;
    const domain = o.domain || `pubsub.${ctx.host}`;
    // One service, so one key of the stores: the domain.
    const service = domain;
    const storage = new StorePubsubStorage(ctx.store.map<NodeRecord>('nodes'), ctx.store.map<StoredItem>('items'));

    /** Presence and roster access models: the owner's roster, when the owner is an account here. */
    const relation = async (owner: string, requester: string): Promise<OwnerRelation> => {
      const roster = ctx.shared.get('roster');
      const at = owner.indexOf('@');
      if (!roster || at <= 0 || owner.slice(at + 1) !== ctx.host) return NO_RELATION;
      return roster.relation(owner.slice(0, at), requester);
    };

    const engine = createPubsubEngine({
      storage,
      relation,
      limits: { maxNodes: o.max_nodes, maxItemsPerNode: o.max_items, maxPayloadBytes: o.max_item_size, maxSubscriptionsPerNode: o.max_subscriptions },
      // §4.5: open is the usual default of a generic service.
      defaults: { accessModel: 'open' },
      autoCreate: false,
      mayCreate: (_service, requester) => (o.create_nodes === 'admins' ? ctx.isAdmin(requester.bare()) : requester.domain === ctx.host && requester.local !== ''),
      serviceOwners: () => [],
      notify: (event) => notify(engine, domain, o.max_items, event, (stanza) => ctx.route(stanza)),
    });

    /** Nodes per owner, checked before a create reaches the engine (which bounds the whole service). */
    const checkOwnerQuota = async (from: Jid) => {
      const bare = from.bareString;
      let owned = 0;
      for (const record of (await storage.allNodes(service)).values()) if (record.affiliations[bare] === 'owner') owned++;
      if (owned >= o.max_nodes_per_owner) {
        throw new StanzaError('policy-violation', `You own ${String(owned)} nodes, the most this service allows`, undefined, el('max-nodes-exceeded', { xmlns: NS_PUBSUB_ERRORS }));
      }
    };

    const ownersOf = async (node: string) => {
      const record = await storage.getNode(service, node);
      return Object.entries(record?.affiliations ?? {}).filter(([, a]) => a === 'owner').map(([jid]) => jid);
    };

    const answer = async (type: 'get' | 'set', payload: Element, from: Jid): Promise<Element | undefined> => {
      const ns = payload.attrs['xmlns'];
      const node = payload.attrs['node'];
      if (type === 'get' && payload.name === 'query' && ns === NS_DISCO_INFO) {
        return node === undefined ? serviceInfo() : nodeInfo(engine, service, node, from, await ownersOf(node));
      }
      if (type === 'get' && payload.name === 'query' && ns === NS_DISCO_ITEMS) {
        return node === undefined ? serviceItems(engine, service, domain, from) : nodeItems(engine, service, domain, node, from);
      }
      if (payload.name === 'pubsub' && (ns === NS_PUBSUB || ns === NS_PUBSUB_OWNER)) {
        const create = type === 'set' && ns === NS_PUBSUB ? payload.getChild('create') : undefined;
        if (!create) return engine.handleIq({ service, from, type, payload });
        await checkOwnerQuota(from);
        if (create.attrs['node']) return engine.handleIq({ service, from, type, payload });
        // §8.1.2 instant node: the service names it and says the name in the result.
        const named = payload.clone();
        const node = randomBytes(12).toString('hex');
        const namedCreate = named.getChild('create');
        if (namedCreate) namedCreate.attrs['node'] = node;
        await engine.handleIq({ service, from, type, payload: named });
        return el('pubsub', { xmlns: NS_PUBSUB }, el('create', { node }));
      }
      throw new StanzaError('service-unavailable');
    };

    ctx.services.claim(domain, async (stanza, from, to) => {
      if (stanza.name !== 'iq') {
        // §4.6 leaves messages and presence to the service undefined: a message is refused, presence ignored.
        if (stanza.name === 'message' && stanza.attrs['type'] !== 'error') throw new StanzaError('service-unavailable', 'This service takes IQ requests only');
        return;
      }
      const type = stanza.attrs['type'];
      if (type !== 'get' && type !== 'set') return;
      if (to.local !== '' || to.resource !== '') throw new StanzaError('service-unavailable', `Nodes are addressed at ${domain} with a node attribute`);
      const payload = stanza.elements[0];
      if (!payload || stanza.elements.length !== 1) throw new StanzaError('bad-request', 'An IQ has one payload');
      const result = await answer(type, payload, from);
      await ctx.route(el('iq', { type: 'result', id: stanza.attrs['id'], from: domain, to: from.toString() }, result));
    });
    ctx.disco.addItem({ jid: domain, name: 'Publish-subscribe' });

    ctx.hooks.on('user/export', async ({ user, add }) => {
      const part = await exportAccount(storage, service, domain, `${user}@${ctx.host}`);
      if (part) add(part);
    });
    ctx.hooks.on('user/deleted', async ({ user, forImport }) => {
      if (!forImport) await forgetAccount(engine, storage, service, `${user}@${ctx.host}`);
    });
  },
});
