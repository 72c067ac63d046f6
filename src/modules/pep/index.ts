// XEP-0163 Personal Eventing Protocol: a XEP-0060 service on every account's bare JID, built on
// the PubSub engine (src/lib/pubsub/). Nodes are created on first publish (presence access by
// default), owned by the account; contacts hear of changes as their caps ask (+notify).
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { parseJid } from '../../core/jid.ts';
import type { NodeRecord, StoredItem } from '../../lib/pubsub/api.ts';
import { NS_PUBSUB, NS_PUBSUB_OWNER } from '../../lib/pubsub/api.ts';
import { createPubsubEngine } from '../../lib/pubsub/engine.ts';
import { StorePubsubStorage } from '../../lib/pubsub/store-adapter.ts';
import './api.ts';
import '../roster/api.ts';
import '../caps/api.ts';
import { PEP_FEATURES } from './features.ts';
import { NOBODY, ownerJid, sendEvent, sendLastItems, sendLastItemsOnApproval, type Pep } from './notify.ts';
import { pepDisco } from './disco.ts';


export const pep = defineModule({
  name: 'pep',
  description: 'Personal eventing (XEP-0163) on every account: what clients publish for contacts (OMEMO keys, avatar, nickname, bookmarks), with XEP-0060 node configuration and access models.',
  stores: {
    'pep-items': {
      kind: 'map',
      what: 'Personal events (PEP)',
      detail: 'what your clients publish on your account for yourself or your contacts (end-to-end encryption public keys for OMEMO, avatar, nickname, bookmarks and the like), each kind with its settings: who may read it, the addresses you allowed or banned, and the addresses subscribed to it',
    },
    // Node settings (access model, affiliations, subscriptions): described with the items.
    'pep-nodes': { kind: 'map', partOf: 'pep-items' },
  },
  enabledByDefault: true,
  xeps: [
    { number: 163, version: '1.2.2', status: 'partial', note: 'Presence-based notifications and last items reach contacts on the same host (there is no server-to-server yet; other hosts of this server get them through explicit subscriptions); contacts get the last items when they come online or their subscription is approved.' },
    { number: 60, version: '1.26.0', status: 'partial', note: 'On PEP: no collections, no authorize access model or pending subscriptions, no subscription options, no instant nodes, one item per publish.' },
    { number: 59, version: '1.0', status: 'partial', note: 'Used for paging PEP items (max, after, before, index, count) only.' },
    // What clients build on PEP: the server keeps and delivers their nodes as the XEPs configure them.
    { number: 384, version: '0.8.3', note: 'OMEMO device lists and bundles, both eu.siacs.conversations.axolotl and urn:xmpp:omemo:2, with publish-options access_model open; encryption itself is between the clients' },
    { number: 84, version: '1.1.4', note: 'avatar data and metadata nodes; with the vcard module kept as one with the vCard photo (XEP-0398)' },
    { number: 402, version: '1.1.4', note: 'bookmarks as one whitelist item per room, +notify to the account\'s own clients; XEP-0048 through private storage (private module)' },
    { number: 172, version: '1.1' },
    { number: 223, version: '1.1.1', note: 'whitelist nodes that persist their items, readable only by the account' },
  ],
  options: {
    max_nodes: option.integer(1000, 'Most PEP nodes one account may have (OMEMO makes one per device).', { min: 1, max: 1_000_000 }),
    max_items: option.integer(256, "Most items one node keeps; a node's max_items 'max' means this.", { min: 1, max: 100_000 }),
    max_payload_size: option.size('128KiB', 'Largest item payload, serialized (avatars are the largest); bigger ones get <payload-too-big/>. Keep it under limits.max_stanza_size.', { min: 1024 }),
    max_subscriptions: option.integer(1000, 'Most explicit subscriptions to one node.', { min: 1, max: 1_000_000 }),
  },
  dependencies: ['roster'],
  after: ['caps'],
  setup(ctx) {
    const o = ctx.options;
    const roster = () => ctx.shared.get('roster');
    const storage = new StorePubsubStorage(ctx.store.map<NodeRecord>('pep-nodes'), ctx.store.map<StoredItem>('pep-items'));
    const engine = createPubsubEngine({
      storage,
      limits: { maxNodes: o.max_nodes, maxItemsPerNode: o.max_items, maxPayloadBytes: o.max_payload_size, maxSubscriptionsPerNode: o.max_subscriptions },
      // XEP-0163 defaults: presence access, the last item sent on presence; one item (the current state).
      defaults: { accessModel: 'presence', maxItems: 1, sendLastPublishedItem: 'on_sub_and_presence' },
      autoCreate: true,
      // XEP-0163: the account is the only publisher of its PEP nodes.
      ownersOnlyPublish: true,
      mayCreate: (service, requester) => requester.bare().toString() === ownerJid(pepHost, service),
      serviceOwners: (service) => [ownerJid(pepHost, service)],
      async relation(owner, requester) {
        const jid = parseJid(owner);
        if (jid.domain !== ctx.host) return NOBODY;
        return (await roster()?.relation(jid.local, requester)) ?? NOBODY;
      },
      async notify(ev) {
        await sendEvent(pepHost, ev);
        const user = ev.service;
        if (ev.kind === 'published') {
          for (const item of ev.items) await ctx.hooks.emit('pep/published', { host: ctx.host, user, node: ev.node, itemId: item.id, payload: item.payload });
        } else if (ev.kind === 'retracted') {
          for (const itemId of ev.ids) await ctx.hooks.emit('pep/retracted', { host: ctx.host, user, node: ev.node, itemId });
        }
      },
    });
    const pepHost: Pep = { ctx, engine, maxItemsPerNode: o.max_items };

    for (const f of PEP_FEATURES) ctx.disco.addAccountFeature(f);
    // Also on the domain, as ejabberd does: profanity (0.13) looks only there for publish-options
    // and without it publishes its OMEMO devicelist and bundle with the default (presence) access.
    ctx.disco.addIdentity({ category: 'pubsub', type: 'pep' });
    for (const f of PEP_FEATURES) ctx.disco.addFeature(f);
    ctx.disco.addAccountHandler(pepDisco(pepHost));

    for (const ns of [NS_PUBSUB, NS_PUBSUB_OWNER]) {
      for (const type of ['get', 'set'] as const) {
        ctx.iq[type]('account', ns, 'pubsub', ({ to, from, payload }) => engine.handleIq({ service: to.local, from, type, payload }));
      }
    }

    // Not awaited: the presence that made the caps known goes on without waiting for storage reads.
    ctx.hooks.on('caps/known', ({ session, features }) => {
      void sendLastItems(pepHost, session, features).catch((err: unknown) => ctx.log.warn({ err }, 'PEP last items not sent'));
    });
    ctx.hooks.on('roster/presence-approved', ({ user, contact }) => {
      void sendLastItemsOnApproval(pepHost, user, contact).catch((err: unknown) => ctx.log.warn({ err }, 'PEP last items not sent'));
    });

    const self = (user: string) => parseJid(ownerJid(pepHost, user));
    ctx.shared.provide('pep', {
      publish: (user, node, item, options) => engine.publish(user, self(user), node, item, options),
      items: (user, node, opts) => engine.items(user, self(user), node, opts),
      retract: (user, node, id) => engine.retract(user, self(user), node, id),
      nodeConfig: (user, node) => engine.nodeConfig(user, node),
    });

    ctx.hooks.on('user/deleted', ({ user }) => engine.deleteService(user));
    ctx.hooks.on('user/export', async ({ user, add }) => {
      for (const part of await engine.exportService(user)) add(part);
    });
    ctx.hooks.on('user/import', ({ user, elements }) => engine.importService(user, elements));
  },
});
