// XEP-0060 §10 features the PEP service offers, announced in the disco#info of every account (XEP-0163 §3).
import { NS_PUBSUB, NS_RSM } from '../../lib/pubsub/api.ts';

const SUPPORTED = [
  'access-open', 'access-presence', 'access-roster', 'access-whitelist',
  'auto-create', 'auto-subscribe', 'config-node', 'create-and-configure', 'create-nodes',
  'delete-items', 'delete-nodes', 'filtered-notifications', 'item-ids', 'last-published',
  'manage-subscriptions', 'member-affiliation', 'modify-affiliations', 'multi-items',
  'outcast-affiliation', 'persistent-items', 'presence-notifications', 'presence-subscribe',
  'publish', 'publish-options', 'purge-nodes',
  'retract-items', 'retrieve-affiliations', 'retrieve-default', 'retrieve-items',
  'retrieve-subscriptions', 'rsm', 'subscribe',
];

export const PEP_FEATURES: readonly string[] = [NS_PUBSUB, NS_RSM, ...SUPPORTED.map((f) => `${NS_PUBSUB}#${f}`)];
