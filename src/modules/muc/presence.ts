// XEP-0045 §7.2 entering, §7.6 changing nickname, §7.7 changing availability, §7.14 leaving.
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_DELAY, NS_MUC, NS_MUC_USER } from './namespaces.ts';
import type { HistoryRequest } from './history.ts';
import { TokenBucket } from './rate-limit.ts';
import { affiliationRank, type Occupant, type Room } from './room.ts';
import type { MucService } from './service.ts';

/** Any presence addressed to room@service/nick. */
export async function handlePresence(svc: MucService, stanza: Element, from: Jid, to: Jid): Promise<void> {
  const type = stanza.attrs['type'];
  const full = from.toString();
  const room = svc.rooms.get(to.local);
  if (type === 'error') {
    // §7.2.x "ghost" occupants: a client that answers with an error is no longer there.
    const o = room?.occupantOf(full);
    if (room && o) await leaveSession(svc, room, o, full, [333]);
    return;
  }
  if (type === 'unavailable') {
    const o = room?.occupantOf(full);
    if (!room || !o) return;
    // §7.14: the others see the status text the occupant left with.
    o.sessions.delete(full);
    o.sessions.set(full, presencePayload(stanza));
    await leaveSession(svc, room, o, full);
    return;
  }
  if (type !== undefined) return; // subscriptions and probes mean nothing to a room
  if (to.resource === '') throw new StanzaError('jid-malformed', 'Enter a room as room@service/nickname');
  const current = room?.occupantOf(full);
  if (room && current) {
    if (current.nick === to.resource) return updatePresence(svc, room, current, full, stanza);
    return changeNick(svc, room, current, to.resource, stanza);
  }
  return enter(svc, room, to.local, to.resource, from, stanza);
}

function historyRequest(x: Element | undefined): HistoryRequest {
  const h = x?.getChild('history');
  if (!h) return {};
  const num = (name: string): number | undefined => {
    const v = h.attrs[name];
    return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : undefined;
  };
  const since = h.attrs['since'] ? new Date(h.attrs['since']) : undefined;
  return {
    maxchars: num('maxchars'), maxstanzas: num('maxstanzas'), seconds: num('seconds'),
    since: since && !Number.isNaN(since.getTime()) ? since : undefined,
  };
}

async function enter(svc: MucService, existing: Room | undefined, local: string, nick: string, from: Jid, stanza: Element): Promise<void> {
  const bare = from.bareString;
  const full = from.toString();
  const x = stanza.getChild('x', NS_MUC);
  let room = existing;
  let created = false;
  if (!room) {
    // §10.1.1 creating a room.
    if (!svc.mayCreate(bare)) throw new StanzaError('not-allowed', 'Room creation is not allowed for you on this service');
    if (svc.rooms.size >= svc.limits.maxRooms) throw new StanzaError('resource-constraint', 'This service has reached its number of rooms', 'wait');
    if (svc.roomsOwnedBy(bare) >= svc.limits.maxRoomsPerUser) {
      throw new StanzaError('policy-violation', `You already own ${svc.limits.maxRoomsPerUser} rooms, the most this service allows`);
    }
    room = svc.newRoom(local);
    room.setAffiliation(bare, 'owner');
    // A client that does not speak MUC (no <x/>) gets an instant room (§10.1.1).
    room.locked = x !== undefined;
    svc.rooms.set(local, room);
    created = true;
  } else {
    const affiliation = room.affiliationOf(bare);
    if (room.locked && affiliation !== 'owner') throw new StanzaError('item-not-found', 'The room is being configured');
    if (affiliation === 'outcast') throw new StanzaError('forbidden', 'You are banned from this room');
    if (room.config.membersOnly && affiliationRank(affiliation) < affiliationRank('member')) {
      throw new StanzaError('registration-required', 'This room is for members only');
    }
    const holder = room.nickOwner(nick);
    const inUse = room.occupants.get(nick);
    if ((holder !== undefined && holder !== bare) || (inUse && inUse.bareJid !== bare)) throw new StanzaError('conflict', 'That nickname is taken');
    if (room.config.passwordProtected && affiliation !== 'owner' && x?.getChildText('password') !== room.config.password) {
      throw new StanzaError('not-authorized', 'A password is required to enter');
    }
    if (!inUse && room.occupants.size >= room.config.maxUsers && affiliationRank(affiliation) < affiliationRank('admin')) {
      throw new StanzaError('service-unavailable', 'The room is full');
    }
  }

  let o = room.occupants.get(nick);
  const joiningSession = !!o;
  if (!o) {
    o = {
      nick, bareJid: bare, sessions: new Map(), role: room.defaultRole(room.affiliationOf(bare)),
      occupantId: svc.occupantId(room.jid, bare), bucket: new TokenBucket(svc.limits.messagesPerSecond, svc.limits.messageBurst),
    };
  }
  o.sessions.set(full, presencePayload(stanza));
  room.byJid.set(full, nick);
  room.occupants.set(nick, o);

  // §7.2.3: the others' presence first, then the newcomer's own (110 last of all to itself).
  for (const other of room.occupants.values()) {
    if (other === o || !room.config.presenceBroadcast.includes(other.role)) continue;
    await send(svc, full, svc.presenceFor(room, other, o));
  }
  // §7.2.4 status 100 (non-anonymous room) and §10.1.1 status 201 (new room): to the newcomer only.
  const selfCodes = [...(created ? [201] : []), ...(room.nonAnonymous ? [100] : [])];
  if (joiningSession) await send(svc, full, svc.presenceFor(room, o, o, { selfCodes }));
  else await svc.broadcastPresence(room, o, { selfCodes });

  // §7.2.15 history, then §7.2.16 the subject (empty when none).
  if (!room.locked) {
    for (const h of room.history.select(room.config.historyLength, historyRequest(x))) {
      const copy = h.stanza.clone();
      copy.append(el('delay', { xmlns: NS_DELAY, from: room.jid, stamp: h.when.toISOString() }));
      await send(svc, full, copy);
    }
  }
  await send(svc, full, el('message', { from: room.subject ? `${room.jid}/${room.subject.from}` : room.jid, type: 'groupchat' }, el('subject', {}, room.subject?.text ?? '')));
}

/** The parts of a client's presence shown to others (show, status, caps…), without MUC elements. */
function presencePayload(stanza: Element): Element {
  return el('presence', {}, ...stanza.elements.filter((c) => c.attrs['xmlns'] !== NS_MUC && c.attrs['xmlns'] !== NS_MUC_USER).map((c) => c.clone()));
}

async function send(svc: MucService, to: string, stanza: Element): Promise<void> {
  stanza.attrs['to'] = to;
  await svc.route(stanza);
}

async function updatePresence(svc: MucService, room: Room, o: Occupant, full: string, stanza: Element): Promise<void> {
  o.sessions.delete(full);
  o.sessions.set(full, presencePayload(stanza));
  await svc.broadcastPresence(room, o);
}

/** §7.6: unavailable with 303 and the new nick, then available under the new nick. */
async function changeNick(svc: MucService, room: Room, o: Occupant, nick: string, stanza: Element): Promise<void> {
  const holder = room.nickOwner(nick);
  const inUse = room.occupants.get(nick);
  if ((holder !== undefined && holder !== o.bareJid) || inUse) throw new StanzaError('conflict', 'That nickname is taken');
  for (const viewer of room.occupants.values()) {
    await svc.toOccupant(viewer, svc.presenceFor(room, o, viewer, { unavailable: true, codes: [303], newNick: nick }));
  }
  room.occupants.delete(o.nick);
  o.nick = nick;
  room.occupants.set(nick, o);
  for (const full of o.sessions.keys()) room.byJid.set(full, nick);
  const last = [...o.sessions.keys()].at(-1)!;
  o.sessions.set(last, presencePayload(stanza));
  await svc.broadcastPresence(room, o);
}

/** One session leaves; the occupant leaves with its last session. */
export async function leaveSession(svc: MucService, room: Room, o: Occupant, full: string, codes: number[] = []): Promise<void> {
  if (o.sessions.size > 1) {
    const last = o.sessions.get(full);
    o.sessions.delete(full);
    room.byJid.delete(full);
    const p = svc.presenceFor(room, o, o, { unavailable: true, codes });
    if (last?.getChild('status')) p.append(last.getChild('status')!.clone());
    await send(svc, full, p);
    return;
  }
  await svc.removeOccupant(room, o, { codes });
}
