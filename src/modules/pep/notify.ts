// XEP-0163 §4.3 notifications: to the owner's own available resources and to the available
// resources of contacts that see the owner's presence, each filtered by its XEP-0115 caps
// (`node+notify`, §4.3.2 filtered notifications) and by the node's access model; to explicit
// subscribers as they subscribed. Remote contacts' caps are not learnt: they get no presence-based
// notifications (an explicit subscription still works).
import { randomUUID } from 'node:crypto';
import type { ModuleContext } from '../../core/modules.ts';
import { parseJid, tryParseJid } from '../../core/jid.ts';
import type { OwnerRelation, PubsubEngine, PubsubEvent, RelationResolver } from '../../lib/pubsub/api.ts';
import { notificationMessage } from '../../lib/pubsub/event.ts';
import type { SessionInfo } from '../../core/session.ts';

export interface Pep {
  ctx: ModuleContext<unknown>;
  engine: PubsubEngine;
  maxItemsPerNode: number;
}

/** Someone not in the roster. */
export const NOBODY: OwnerRelation = { subscription: 'none', groups: [] };

export function ownerJid(pep: Pep, user: string): string {
  return `${user}@${pep.ctx.host}`;
}

/** Whether a session asked for notifications of `node` (its verified caps carry node+notify). */
export function wantsNotify(pep: Pep, session: SessionInfo, node: string): boolean {
  return pep.ctx.shared.get('caps')?.featuresOf(session.jid.toString())?.has(`${node}+notify`) === true;
}

/** Full or bare JIDs to notify of an event on `user`'s node, each once. */
async function recipients(pep: Pep, user: string, ev: PubsubEvent): Promise<Set<string>> {
  const { ctx, engine } = pep;
  const out = new Set<string>();
  const host = ctx.host;
  for (const s of ctx.sessions.available(host, user)) if (wantsNotify(pep, s, ev.node)) out.add(s.jid.toString());
  // The owner's roster and the node are read once for all contacts, not once per contact.
  const roster = (await ctx.shared.get('roster')?.relations(user)) ?? new Map<string, OwnerRelation>();
  const owner = ownerJid(pep, user);
  const fromRoster: RelationResolver = async (o, who) => (o === owner ? (roster.get(who) ?? NOBODY) : NOBODY);
  const reader = ev.kind === 'deleted' ? undefined : await engine.readers(user, ev.node, fromRoster);
  const readable = async (bare: string): Promise<boolean> => {
    if (ev.kind !== 'deleted') return reader !== undefined && (await reader(bare));
    // A deleted node can't be asked: its last access model decides, without the member list
    // (gone with it), so a whitelist node's deletion reaches only the owner and its subscribers.
    switch (ev.config.accessModel) {
      case 'open':
      case 'presence':
        return true;
      case 'roster':
        return (roster.get(bare)?.groups ?? []).some((g) => ev.config.rosterGroupsAllowed.includes(g));
      case 'whitelist':
        return false;
    }
  };
  for (const [contact, rel] of roster) {
    if (rel.subscription !== 'from' && rel.subscription !== 'both') continue;
    const jid = tryParseJid(contact);
    if (!jid || jid.domain !== host) continue;
    const sessions = ctx.sessions.available(host, jid.local).filter((s) => wantsNotify(pep, s, ev.node));
    if (sessions.length === 0 || !(await readable(contact))) continue;
    for (const s of sessions) out.add(s.jid.toString());
  }
  for (const sub of ev.subscribers) {
    const jid = tryParseJid(sub);
    // Subscribers were let in when they subscribed: they hear of the deletion whatever the model.
    if (jid && (ev.kind === 'deleted' || (await readable(jid.bare().toString())))) out.add(sub);
  }
  return out;
}

/** Sends an event's notifications (or the 'last' item to its one addressee). */
export async function sendEvent(pep: Pep, ev: PubsubEvent): Promise<void> {
  const user = ev.service;
  const from = ownerJid(pep, user);
  if (!ev.config.deliverNotifications) return;
  const targets = ev.kind === 'last' ? new Set([ev.to.toString()]) : await recipients(pep, user, ev);
  for (const to of targets) {
    await pep.ctx.route(notificationMessage(ev, from, to, randomUUID(), pep.maxItemsPerNode)).catch((err: unknown) => pep.ctx.log.debug({ err }, 'PEP notification not routed'));
  }
}

/** The +notify interests of a client's caps, as node names. */
function interests(features: ReadonlySet<string>): Set<string> {
  const wanted = new Set<string>();
  for (const f of features) if (f.endsWith('+notify')) wanted.add(f.slice(0, -'+notify'.length));
  return wanted;
}

/** The newest item of each of `service`'s nodes in `wanted` that `session` may read and that sends it on presence. */
async function sendLastOf(pep: Pep, service: string, session: SessionInfo, wanted: ReadonlySet<string>): Promise<void> {
  const { engine } = pep;
  const requester = parseJid(ownerJid(pep, session.user));
  // Only the nodes the client +notifies are looked at: a handful, however many nodes exist.
  for (const node of wanted) {
    const config = await engine.nodeConfig(service, node);
    if (!config || config.sendLastPublishedItem !== 'on_sub_and_presence' || !config.deliverNotifications) continue;
    if (!(await engine.mayRead(service, node, requester))) continue;
    const item = await engine.lastItem(service, node);
    if (!item) continue;
    await sendEvent(pep, { kind: 'last', service, node, config, subscribers: [], item, to: session.jid });
  }
}

/**
 * §4.3.3 last published items for a session whose caps became known: the newest item of each
 * node it +notifies, of its own account and of each local contact whose presence it receives
 * (access model permitting), where the node sends its last item on presence.
 */
export async function sendLastItems(pep: Pep, session: SessionInfo, features: ReadonlySet<string>): Promise<void> {
  const wanted = interests(features);
  if (wanted.size === 0) return;
  const services = [session.user];
  for (const contact of (await pep.ctx.shared.get('roster')?.presenceSubscriptions(session.user)) ?? []) {
    const jid = tryParseJid(contact);
    if (jid && jid.domain === pep.ctx.host && jid.local !== session.user) services.push(jid.local);
  }
  for (const service of services) await sendLastOf(pep, service, session, wanted);
}

/** §4.3.3 on subscription: a local contact that now sees `user`'s presence gets its last items. */
export async function sendLastItemsOnApproval(pep: Pep, user: string, contact: string): Promise<void> {
  const jid = tryParseJid(contact);
  if (!jid || jid.domain !== pep.ctx.host) return;
  const caps = pep.ctx.shared.get('caps');
  for (const session of pep.ctx.sessions.available(jid.domain, jid.local)) {
    const features = caps?.featuresOf(session.jid.toString());
    if (features) await sendLastOf(pep, user, session, interests(features));
  }
}
