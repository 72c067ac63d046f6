// Who may do what on a node: affiliations (§4.1) and access models (§4.5), with the error each
// refusal answers (§6.1.3 subscribe, §6.5.9 retrieve items, §7.1.3 publish).
import { StanzaError } from '../../core/errors.ts';
import type { Affiliation, NodeRecord, RelationResolver } from './api.ts';
import { pubsubError } from './errors.ts';

/** The requester's affiliation: service owners own every node; 'none' when nothing is recorded. */
export function affiliationOf(record: NodeRecord | undefined, bare: string, serviceOwners: readonly string[]): Affiliation {
  if (serviceOwners.includes(bare)) return 'owner';
  return record?.affiliations[bare] ?? 'none';
}

/** The node's owners: the service's, and those affiliated as owners. */
export function ownersOf(record: NodeRecord, serviceOwners: readonly string[]): string[] {
  const out = new Set(serviceOwners);
  for (const [jid, aff] of Object.entries(record.affiliations)) if (aff === 'owner') out.add(jid);
  return [...out];
}

/**
 * Throws the §6.5.9 / §6.1.3 error when `bare` may not read (retrieve items, subscribe, be
 * notified); resolves when it may.
 */
export async function checkRead(record: NodeRecord, bare: string, serviceOwners: readonly string[], relation: RelationResolver): Promise<void> {
  const aff = affiliationOf(record, bare, serviceOwners);
  // §4.1: outcasts may do nothing; publish-only entities may only publish (and purge/retract theirs).
  if (aff === 'outcast') throw new StanzaError('forbidden', 'You are banned from this node');
  if (aff === 'publish-only') throw new StanzaError('forbidden', 'Your affiliation allows publishing only');
  if (aff === 'owner' || aff === 'publisher' || aff === 'member') return;
  const config = record.config;
  switch (config.accessModel) {
    case 'open':
      return;
    case 'presence': {
      for (const owner of ownersOf(record, serviceOwners)) {
        const rel = await relation(owner, bare);
        if (rel.subscription === 'from' || rel.subscription === 'both') return;
      }
      throw pubsubError('not-authorized', 'presence-subscription-required', 'Only contacts subscribed to the owner’s presence may see this node');
    }
    case 'roster': {
      const allowed = new Set(config.rosterGroupsAllowed);
      for (const owner of ownersOf(record, serviceOwners)) {
        const rel = await relation(owner, bare);
        if (rel.groups.some((g) => allowed.has(g))) return;
      }
      throw pubsubError('not-authorized', 'not-in-roster-group', 'Only some of the owner’s contact groups may see this node');
    }
    case 'whitelist':
      throw pubsubError('not-allowed', 'closed-node', 'Only people the owner allowed may see this node');
  }
}

/** Whether checkRead would let `bare` in. */
export async function mayRead(record: NodeRecord, bare: string, serviceOwners: readonly string[], relation: RelationResolver): Promise<boolean> {
  try {
    await checkRead(record, bare, serviceOwners, relation);
    return true;
  } catch (e) {
    if (e instanceof StanzaError) return false;
    throw e;
  }
}

/** §7.1.3.1: publishing needs the node's publish model (owners, publishers, publish-only always may). */
export async function checkPublish(record: NodeRecord, bare: string, serviceOwners: readonly string[], relation: RelationResolver, isSubscriber: boolean): Promise<void> {
  const aff = affiliationOf(record, bare, serviceOwners);
  if (aff === 'outcast') throw new StanzaError('forbidden', 'You are banned from this node');
  if (aff === 'owner' || aff === 'publisher' || aff === 'publish-only') return;
  const model = record.config.publishModel;
  if (model === 'open' && (await mayRead(record, bare, serviceOwners, relation))) return;
  if (model === 'subscribers' && isSubscriber) return;
  throw new StanzaError('forbidden', 'You may not publish to this node');
}

/** Owner-only operations (§8): configure, delete, purge, affiliations and subscriptions management. */
export function checkOwner(record: NodeRecord, bare: string, serviceOwners: readonly string[]): void {
  if (affiliationOf(record, bare, serviceOwners) !== 'owner') throw new StanzaError('forbidden', 'Only an owner of the node may do this');
}
