// XEP-0045 §8 moderator and §9 admin use cases, §10.3-10.8 owner list changes: roles and
// affiliations through <query xmlns='…#admin'> items, with the permission rules of each.
import { StanzaError } from '../../core/errors.ts';
import { tryParseJid, type Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_MUC_ADMIN, NS_MUC_USER } from './namespaces.ts';
import { AFFILIATIONS, affiliationRank, ROLES, type Affiliation, type Occupant, type Role, type Room } from './room.ts';
import type { MucService } from './service.ts';

/** The acting user: its affiliation, and its occupant when in the room. */
interface Actor {
  bareJid: string;
  affiliation: Affiliation;
  occupant: Occupant | undefined;
}

function actorOf(room: Room, from: Jid): Actor {
  return { bareJid: from.bareString, affiliation: room.affiliationOf(from.bareString), occupant: room.occupantOf(from.toString()) };
}

const isAdminOrOwner = (a: Affiliation): boolean => affiliationRank(a) >= affiliationRank('admin');

/** Get a list (§8.5 voice list, §8.8 moderators, §9.1 ban list, §9.5 member list, §10.5/10.8 owners, admins). */
export function getList(room: Room, from: Jid, query: Element): Element {
  const actor = actorOf(room, from);
  const item = query.getChild('item');
  const role = item?.attrs['role'];
  const affiliation = item?.attrs['affiliation'];
  const result = el('query', { xmlns: NS_MUC_ADMIN });
  if (role !== undefined) {
    if (!ROLES.includes(role as Role) || role === 'none') throw new StanzaError('bad-request', 'Unknown role');
    if (actor.occupant?.role !== 'moderator') throw new StanzaError('forbidden', 'Only moderators may see this list');
    for (const o of room.occupants.values()) {
      if (o.role !== role) continue;
      result.append(el('item', { affiliation: room.affiliationOf(o.bareJid), jid: [...o.sessions.keys()].at(-1), nick: o.nick, role: o.role }));
    }
    return result;
  }
  if (affiliation === undefined || !AFFILIATIONS.includes(affiliation as Affiliation) || affiliation === 'none') {
    throw new StanzaError('bad-request', 'Ask for a role or an affiliation list');
  }
  const memberListRole = affiliation === 'member' && actor.occupant && room.config.getMemberList.includes(actor.occupant.role);
  if (!isAdminOrOwner(actor.affiliation) && !memberListRole) throw new StanzaError('forbidden', 'You may not see this list');
  for (const [jid, e] of room.affiliations) {
    if (e.affiliation !== affiliation) continue;
    result.append(el('item', { affiliation, jid, nick: e.nick }, e.reason ? el('reason', {}, e.reason) : null));
  }
  return result;
}

interface Change {
  item: Element;
  kind: 'role' | 'affiliation';
  value: string;
  target: Occupant | undefined;
  targetJid: string | undefined;
  reason: string | undefined;
}

/** Applies every item of a set, after checking them all (one refused item refuses the request). */
export async function setList(svc: MucService, room: Room, from: Jid, query: Element): Promise<void> {
  const actor = actorOf(room, from);
  const items = query.getChildren('item');
  if (items.length === 0) throw new StanzaError('bad-request', 'No item to change');
  const changes: Change[] = items.map((item) => parseItem(room, item));
  for (const c of changes) check(room, actor, c);
  // §10.7: the room keeps at least one owner.
  const owners = new Set(room.owners());
  for (const c of changes) {
    if (c.kind !== 'affiliation' || !c.targetJid) continue;
    if (c.value === 'owner') owners.add(c.targetJid);
    else owners.delete(c.targetJid);
  }
  if (owners.size === 0) throw new StanzaError('conflict', 'A room needs at least one owner');
  const added = new Set(changes.filter((c) => c.kind === 'affiliation' && c.value !== 'none' && !room.affiliations.has(c.targetJid!)).map((c) => c.targetJid));
  if (room.affiliations.size + added.size > svc.limits.maxAffiliations) {
    throw new StanzaError('resource-constraint', `A room's lists hold at most ${svc.limits.maxAffiliations} entries`, 'cancel');
  }
  for (const c of changes) {
    if (c.kind === 'role') await setRole(svc, room, actor.occupant, c.target!, c.value as Role, c.reason);
    else await setAffiliation(svc, room, actor, c.targetJid!, c.value as Affiliation, c.reason);
  }
  if (changes.some((c) => c.kind === 'affiliation')) await svc.store.save(room);
}

function parseItem(room: Room, item: Element): Change {
  const reason = item.getChildText('reason');
  const role = item.attrs['role'];
  const affiliation = item.attrs['affiliation'];
  if (affiliation !== undefined) {
    if (!AFFILIATIONS.includes(affiliation as Affiliation)) throw new StanzaError('bad-request', 'Unknown affiliation');
    let jid = tryParseJid(item.attrs['jid'])?.bareString;
    if (!jid && item.attrs['nick'] !== undefined) jid = room.occupants.get(item.attrs['nick'])?.bareJid;
    if (!jid) throw new StanzaError(item.attrs['jid'] === undefined ? 'bad-request' : 'jid-malformed', 'An affiliation change names a JID');
    return { item, kind: 'affiliation', value: affiliation, target: undefined, targetJid: jid, reason };
  }
  if (role !== undefined) {
    if (!ROLES.includes(role as Role)) throw new StanzaError('bad-request', 'Unknown role');
    const nick = item.attrs['nick'];
    const target = nick === undefined ? undefined : room.occupants.get(nick);
    if (!target) throw new StanzaError(nick === undefined ? 'bad-request' : 'item-not-found', 'A role change names an occupant by nick');
    return { item, kind: 'role', value: role, target, targetJid: target.bareJid, reason };
  }
  throw new StanzaError('bad-request', 'An item needs a role or an affiliation');
}

function check(room: Room, actor: Actor, c: Change): void {
  if (c.kind === 'role') {
    const target = c.target!;
    const targetAffiliation = room.affiliationOf(target.bareJid);
    if (actor.occupant?.role !== 'moderator') throw new StanzaError('forbidden', 'Only moderators change roles');
    // §8.2, §8.4, §9.7: no moderator may kick, silence or demote an admin or owner.
    if (c.value !== 'moderator' && isAdminOrOwner(targetAffiliation)) throw new StanzaError('not-allowed', 'Admins and owners keep their role');
    // §9.6, §9.7: only admins and owners grant or revoke moderator.
    if ((c.value === 'moderator' || target.role === 'moderator') && !isAdminOrOwner(actor.affiliation)) {
      throw new StanzaError('not-allowed', 'Only admins and owners grant or revoke moderator');
    }
    return;
  }
  const current = room.affiliationOf(c.targetJid!);
  if (actor.affiliation === 'owner') return;
  if (actor.affiliation !== 'admin') throw new StanzaError('forbidden', 'Only admins and owners change affiliations');
  // §9: an admin manages members and outcasts; owners and admins are beyond its reach.
  if (c.value === 'admin' || c.value === 'owner') throw new StanzaError('forbidden', 'Only owners grant admin or owner');
  if (isAdminOrOwner(current)) throw new StanzaError('not-allowed', 'Only owners change an admin or owner');
}

/** A role change takes effect and is announced (§8.2 kick with 307, §8.3 voice, §9.6 moderator). */
export async function setRole(svc: MucService, room: Room, actor: Occupant | undefined, target: Occupant, role: Role, reason: string | undefined): Promise<void> {
  if (role === 'none') {
    await svc.removeOccupant(room, target, { codes: [307], actor: actor?.nick, reason });
    return;
  }
  target.role = role;
  await svc.broadcastPresence(room, target, { actor: actor?.nick, reason });
}

/** An affiliation change takes effect: occupants' roles follow, banned and non-members leave. */
async function setAffiliation(svc: MucService, room: Room, actor: Actor, jid: string, affiliation: Affiliation, reason: string | undefined): Promise<void> {
  room.setAffiliation(jid, affiliation, affiliation === 'outcast' ? reason : undefined);
  // A server JID's affiliation (a domain ban) reaches every occupant of that domain without one of its own.
  const present = [...room.occupants.values()].filter((o) => o.bareJid === jid || (o.bareJid.endsWith(`@${jid}`) && !room.affiliations.has(o.bareJid)));
  if (present.length === 0) {
    // §9.3-9.5, §10.3-10.8: a change for someone not in the room is told to those who may see real JIDs.
    const note = el('message', { from: room.jid }, el('x', { xmlns: NS_MUC_USER }, el('item', { affiliation, jid, role: 'none' }, reason !== undefined ? el('reason', {}, reason) : null)));
    for (const viewer of room.occupants.values()) if (room.showsJidTo(viewer)) await svc.toOccupant(viewer, note);
    return;
  }
  for (const o of present) {
    if (affiliation === 'outcast') {
      await svc.removeOccupant(room, o, { codes: [301], actor: actor.occupant?.nick, reason });
    } else if (room.config.membersOnly && affiliationRank(affiliation) < affiliationRank('member')) {
      await svc.removeOccupant(room, o, { codes: [321], actor: actor.occupant?.nick, reason });
    } else {
      if (isAdminOrOwner(affiliation)) o.role = 'moderator';
      else if (o.role === 'moderator') o.role = room.defaultRole(affiliation);
      else if (affiliation === 'member' && o.role === 'visitor') o.role = 'participant';
      await svc.broadcastPresence(room, o, { actor: actor.occupant?.nick, reason });
    }
  }
}

/** §10.2: a room becoming members-only loses its non-members (322). */
export async function removeNonMembers(svc: MucService, room: Room): Promise<void> {
  for (const o of [...room.occupants.values()]) {
    if (affiliationRank(room.affiliationOf(o.bareJid)) < affiliationRank('member')) await svc.removeOccupant(room, o, { codes: [322] });
  }
}
