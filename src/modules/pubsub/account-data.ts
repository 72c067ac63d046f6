// What the pubsub.<host> service holds about one local account: its part of the XEP-0227 export
// and its removal with the account. The service is one "user" of the stores, so neither happens
// by itself.
import { parseJid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_PUBSUB, type NodeRecord, type PubsubEngine, type PubsubStorage } from '../../lib/pubsub/api.ts';

/** Subscriptions by the account's bare JID or any of its full JIDs. */
const ofAccount = (jid: string, bare: string) => jid === bare || jid.startsWith(`${bare}/`);

/** The element of a user's data export for the service (not imported: PEP's <pubsub/> parts stay unambiguous). */
export const NS_EXPORT = 'urn:jabberx:pubsub:0';

/**
 * XEP-0227 has no element for a user's part of a shared service: XEP-0060's own answers are used,
 * <subscriptions/> (§5.6) and <affiliations/> (§5.7), inside one element naming the service.
 */
export async function exportAccount(storage: PubsubStorage, service: string, domain: string, bare: string): Promise<Element | undefined> {
  const subscriptions = el('subscriptions', { xmlns: NS_PUBSUB });
  const affiliations = el('affiliations', { xmlns: NS_PUBSUB });
  for (const [node, record] of await storage.allNodes(service)) {
    for (const [jid, subid] of Object.entries(record.subscriptions)) {
      if (ofAccount(jid, bare)) subscriptions.append(el('subscription', { node, jid, subid, subscription: 'subscribed' }));
    }
    const affiliation = record.affiliations[bare];
    if (affiliation) affiliations.append(el('affiliation', { node, affiliation }));
  }
  if (subscriptions.children.length === 0 && affiliations.children.length === 0) return undefined;
  return el('service', { xmlns: NS_EXPORT, jid: domain }, subscriptions.children.length > 0 ? subscriptions : null, affiliations.children.length > 0 ? affiliations : null);
}

/** The nodes the account owns alone go (subscribers told as for any deletion); elsewhere its subscriptions and affiliations. */
export async function forgetAccount(engine: PubsubEngine, storage: PubsubStorage, service: string, bare: string): Promise<void> {
  const owner = parseJid(bare);
  for (const [node, record] of await storage.allNodes(service)) {
    const owners = Object.entries(record.affiliations).filter(([, a]) => a === 'owner').map(([jid]) => jid);
    if (owners.length === 1 && owners[0] === bare) {
      await engine.deleteNode(service, owner, node);
      continue;
    }
    const cleaned = withoutAccount(record, bare);
    if (cleaned) await storage.write(service, node, cleaned, {});
  }
}

/** The record without the account's subscriptions and affiliation, or undefined when it had none. */
function withoutAccount(record: NodeRecord, bare: string): NodeRecord | undefined {
  const subscriptions = Object.fromEntries(Object.entries(record.subscriptions).filter(([jid]) => !ofAccount(jid, bare)));
  const hadSubscriptions = Object.keys(subscriptions).length !== Object.keys(record.subscriptions).length;
  if (!hadSubscriptions && record.affiliations[bare] === undefined) return undefined;
  const affiliations = { ...record.affiliations };
  delete affiliations[bare];
  return { ...record, subscriptions, affiliations };
}
