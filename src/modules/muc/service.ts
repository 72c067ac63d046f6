// The MUC service of one host: its rooms, and what every handler needs (sending, occupant
// presence as each viewer sees it, leaving, destroying).
import { StanzaError } from '../../core/errors.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_MUC, NS_MUC_USER, NS_OCCUPANT_ID } from './namespaces.ts';
import type { OccupantIdFn } from './occupant-id.ts';
import { IqRelay } from './iq-relay.ts';
import type { RoomStore } from './persistence.ts';
import { defaultConfig, Room, type Occupant } from './room.ts';

export interface MucLimits {
  creation: 'local' | 'admins' | 'nobody';
  maxRooms: number;
  maxRoomsPerUser: number;
  maxOccupants: number;
  maxAffiliations: number;
  messagesPerSecond: number;
  messageBurst: number;
  historySize: number;
  historyAgeMs: number;
}

/** What an occupant's presence says besides its own payload. */
export interface PresenceExtras {
  unavailable?: boolean;
  codes?: readonly number[];
  /** Codes for the occupant's own copy only (201 room created, 100 non-anonymous on entering). */
  selfCodes?: readonly number[];
  /** <item nick=…/> on a nickname change (303). */
  newNick?: string;
  actor?: string;
  reason?: string;
  /** <destroy/> when the room goes (§10.9). */
  destroy?: Element;
}

export class MucService {
  readonly rooms = new Map<string, Room>();
  readonly iqRelay = new IqRelay();

  readonly domain: string;
  readonly host: string;
  readonly limits: MucLimits;
  readonly store: RoomStore;
  readonly occupantId: OccupantIdFn;
  readonly route: (stanza: Element) => Promise<void>;
  readonly isAdmin: (bareJid: string) => boolean;

  constructor(deps: Pick<MucService, 'domain' | 'host' | 'limits' | 'store' | 'occupantId' | 'route' | 'isAdmin'>) {
    this.domain = deps.domain;
    this.host = deps.host;
    this.limits = deps.limits;
    this.store = deps.store;
    this.occupantId = deps.occupantId;
    this.route = deps.route;
    this.isAdmin = deps.isAdmin;
  }

  newRoom(local: string): Room {
    return new Room(local, this.domain, defaultConfig(this.limits.maxOccupants, this.limits.historySize), this.limits.historyAgeMs);
  }

  /** Who may create rooms (option `creation`). */
  mayCreate(bareJid: string): boolean {
    const domain = bareJid.slice(bareJid.indexOf('@') + 1);
    switch (this.limits.creation) {
      case 'nobody': return false;
      case 'admins': return this.isAdmin(bareJid);
      case 'local': return domain === this.host;
    }
  }

  roomsOwnedBy(bareJid: string): number {
    let n = 0;
    for (const r of this.rooms.values()) if (r.affiliationOf(bareJid) === 'owner') n++;
    return n;
  }

  /** The occupant's presence as `viewer` receives it (§7.2.3, §7.2.4). */
  presenceFor(room: Room, o: Occupant, viewer: Occupant, x: PresenceExtras = {}): Element {
    const latest = [...o.sessions.values()].at(-1);
    const p = el('presence', { from: `${room.jid}/${o.nick}`, type: x.unavailable ? 'unavailable' : undefined });
    if (!x.unavailable && latest) {
      for (const c of latest.elements) {
        if (c.attrs['xmlns'] === NS_MUC || c.attrs['xmlns'] === NS_MUC_USER || c.attrs['xmlns'] === NS_OCCUPANT_ID) continue;
        p.append(c.clone());
      }
    } else if (x.unavailable && x.reason === undefined && latest?.getChild('status') && !x.destroy) {
      p.append(latest.getChild('status')!.clone());
    }
    const affiliation = room.affiliationOf(o.bareJid);
    const realJid = [...o.sessions.keys()].at(-1);
    const item = el('item', {
      affiliation,
      role: x.unavailable ? 'none' : o.role,
      jid: room.showsJidTo(viewer) || viewer === o ? realJid : undefined,
      nick: x.newNick,
    });
    if (x.actor !== undefined) item.append(el('actor', { nick: x.actor }));
    if (x.reason !== undefined) item.append(el('reason', {}, x.reason));
    const user = el('x', { xmlns: NS_MUC_USER }, item, x.destroy);
    const codes = new Set(x.codes ?? []);
    if (viewer === o) {
      codes.add(110);
      for (const c of x.selfCodes ?? []) codes.add(c);
    }
    for (const code of [...codes].sort((a, b) => a - b)) user.append(el('status', { code: String(code) }));
    p.append(user);
    p.append(el('occupant-id', { xmlns: NS_OCCUPANT_ID, id: o.occupantId }));
    return p;
  }

  /** Sends a stanza to each session of an occupant. */
  async toOccupant(o: Occupant, stanza: Element): Promise<void> {
    for (const full of o.sessions.keys()) {
      const copy = stanza.clone();
      copy.attrs['to'] = full;
      await this.route(copy);
    }
  }

  /** Everyone in the room learns of `o`'s presence (as each may see it); `o` itself always does. */
  async broadcastPresence(room: Room, o: Occupant, x: PresenceExtras = {}): Promise<void> {
    const visible = room.config.presenceBroadcast.includes(o.role) || x.unavailable;
    for (const viewer of room.occupants.values()) {
      if (viewer !== o && !visible) continue;
      await this.toOccupant(viewer, this.presenceFor(room, o, viewer, x));
    }
    if (room.occupants.get(o.nick) !== o) await this.toOccupant(o, this.presenceFor(room, o, o, x));
  }

  /** Takes an occupant out (kick, ban, leave…): everyone, the occupant included, gets its unavailable presence. */
  async removeOccupant(room: Room, o: Occupant, x: Omit<PresenceExtras, 'unavailable'> = {}): Promise<void> {
    room.occupants.delete(o.nick);
    for (const full of o.sessions.keys()) room.byJid.delete(full);
    o.role = 'none';
    await this.broadcastPresence(room, o, { ...x, unavailable: true });
    await this.closeIfEmpty(room);
  }

  /** §10.1: a temporary room goes with its last occupant. */
  async closeIfEmpty(room: Room): Promise<void> {
    if (room.occupants.size > 0) return;
    if (room.config.persistent && !room.locked) return;
    this.forget(room);
    await this.store.delete(room.local);
  }

  forget(room: Room): void {
    room.destroyed = true;
    room.history.clear();
    if (this.rooms.get(room.local) === room) this.rooms.delete(room.local);
  }

  /** §10.9: everyone leaves with the <destroy/> element, the room and its stored data are gone. */
  async destroy(room: Room, reason: string | undefined, alternate: string | undefined, password?: string): Promise<void> {
    const destroy = el('destroy', { xmlns: undefined, jid: alternate }, reason !== undefined ? el('reason', {}, reason) : null, password ? el('password', {}, password) : null);
    const everyone = [...room.occupants.values()];
    this.forget(room);
    room.occupants.clear();
    room.byJid.clear();
    for (const o of everyone) {
      o.role = 'none';
      const p = this.presenceFor(room, o, o, { unavailable: true, destroy });
      // The self-presence codes (110) stay out: §10.9 sends only <destroy/>.
      p.getChild('x', NS_MUC_USER)!.children = p.getChild('x', NS_MUC_USER)!.children.filter((c) => typeof c === 'string' || c.name !== 'status');
      p.getChild('x', NS_MUC_USER)!.getChild('item')!.attrs['affiliation'] = 'none';
      await this.toOccupant(o, p);
    }
    await this.store.delete(room.local);
  }

  /** A room the sender addressed, or item-not-found. */
  roomOr404(local: string): Room {
    const room = this.rooms.get(local);
    if (!room || room.destroyed) throw new StanzaError('item-not-found', 'No such room');
    return room;
  }
}
