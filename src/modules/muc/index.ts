// XEP-0045 Multi-User Chat on conference.<host>. Rooms' messages are kept in memory only (the
// history newcomers get), never on disk; persistent rooms store their configuration and
// affiliations only.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { StanzaError } from '../../core/errors.ts';
import type { Json } from '../../core/storage.ts';
import { parseJid } from '../../core/jid.ts';
import { el } from '../../core/xml/element.ts';

/** The element of a user's data export listing the rooms that name them (not imported). */
const NS_EXPORT = 'urn:jabberx:muc:affiliations:0';
import { handleIq } from './iq.ts';
import { handleMessage } from './messages.ts';
import { occupantIds } from './occupant-id.ts';
import { RoomStore } from './persistence.ts';
import { handlePresence, leaveSession } from './presence.ts';
import { MucService } from './service.ts';

export const muc = defineModule({
  name: 'muc',
  description: 'Group chats (XEP-0045 Multi-User Chat) on conference.<host>. Room messages are kept in memory only, for the history newcomers see: they never reach the disk and are lost on restart. Persistent rooms store their settings and member lists.',
  stores: {
    rooms: {
      kind: 'keyval',
      what: 'Group chat rooms',
      detail: 'for each persistent room: its settings (name, description, password) and its lists of owners, admins, members and banned addresses with registered nicknames; never the messages, which stay in memory only and are lost on restart',
    },
    secret: { kind: 'keyval', partOf: 'rooms' },
  },
  enabledByDefault: true,
  xeps: [
    { number: 45, version: '1.35', status: 'partial', note: 'no room logging (by design: history in memory only); no muc#roomconfig_roomadmins/roomowners fields' },
    { number: 410, version: '1.1.0' },
    { number: 421, version: '0.1.0' },
    { number: 249, version: '1.2', note: 'direct invitations are ordinary messages, routed as such' },
  ],
  options: {
    domain: option.string('', 'the service\'s domain (empty: conference.<host>)'),
    creation: option.enum(['local', 'admins', 'nobody'] as const, 'local', 'Who may create rooms: accounts of this host (local), the server admins of security.admins (admins), or nobody.'),
    max_rooms: option.integer(10000, 'Rooms the service holds at most (temporary and persistent).', { min: 1 }),
    max_rooms_per_user: option.integer(20, 'Rooms one user may own at most.', { min: 1 }),
    max_occupants: option.integer(1000, 'Occupants of one room at most (the room\'s own limit, muc#roomconfig_maxusers, starts at this and may only be lower; admins and owners enter a full room).', { min: 1 }),
    max_affiliations: option.integer(5000, 'Entries of one room\'s owner, admin, member and ban lists together (registered nicknames included).', { min: 10 }),
    messages_per_second: option.integer(5, 'Messages an occupant may send per second on average, into one room; more are refused with <resource-constraint/>.', { min: 1 }),
    message_burst: option.integer(20, 'Messages an occupant may send at once before messages_per_second applies.', { min: 1 }),
    history_size: option.integer(20, 'Messages of history a room keeps, in memory only, for newcomers (the room\'s muc#maxhistoryfetch is at most this; 0 keeps none).', { min: 0, max: 1000 }),
    history_age: option.period('1d', 'Messages older than this are not replayed to newcomers.', { min: 1000 }),
  },
  async setup(ctx) {
    const o = ctx.options;
    const domain = o.domain || `conference.${ctx.host}`;
    const store = new RoomStore(ctx.store.keyval<Json>('rooms'));
    const svc = new MucService({
      domain,
      host: ctx.host,
      limits: {
        creation: o.creation, maxRooms: o.max_rooms, maxRoomsPerUser: o.max_rooms_per_user, maxOccupants: o.max_occupants, maxAffiliations: o.max_affiliations,
        messagesPerSecond: o.messages_per_second, messageBurst: o.message_burst, historySize: o.history_size, historyAgeMs: o.history_age,
      },
      store,
      occupantId: await occupantIds(ctx.store.keyval<string>('secret')),
      route: (stanza) => ctx.route(stanza),
      isAdmin: (bare) => {
        try {
          return ctx.isAdmin(parseJid(bare));
        } catch {
          return false;
        }
      },
    });
    for (const [local, saved] of await store.loadAll()) {
      const room = svc.newRoom(local);
      room.config = { ...room.config, ...saved.config };
      for (const [jid, entry] of Object.entries(saved.affiliations)) room.affiliations.set(jid, entry);
      svc.rooms.set(local, room);
    }

    ctx.services.claim(domain, async (stanza, from, to) => {
      switch (stanza.name) {
        case 'presence':
          if (to.local === '') throw new StanzaError('jid-malformed', 'Enter a room as room@service/nickname');
          return handlePresence(svc, stanza, from, to);
        case 'message':
          if (to.local === '') throw new StanzaError('service-unavailable', 'Send messages to a room');
          return handleMessage(svc, stanza, from, to);
        case 'iq':
          return handleIq(svc, stanza, from, to);
      }
    });
    ctx.disco.addItem({ jid: domain, name: 'Chatrooms' });

    // A session that ends leaves its rooms (the router's unavailable presence usually did it already).
    ctx.hooks.on('session/closed', async ({ session }) => {
      const full = session.jid.toString();
      for (const room of [...svc.rooms.values()]) {
        const occupant = room.occupantOf(full);
        if (occupant) await leaveSession(svc, room, occupant, full);
      }
    });

    // §7.2.x status 332: the service is going down, everyone is out (rooms come back, history doesn't).
    ctx.hooks.on('server/stopping', async () => {
      for (const room of svc.rooms.values()) {
        for (const occupant of room.occupants.values()) {
          await svc.toOccupant(occupant, svc.presenceFor(room, occupant, occupant, { unavailable: true, codes: [332] }));
        }
      }
    });

    // The user's copy of their data (XEP-0227 has no MUC element): the rooms that list them.
    ctx.hooks.on('user/export', ({ user, add }) => {
      const bare = `${user}@${ctx.host}`;
      const rooms = el('rooms', { xmlns: NS_EXPORT });
      for (const room of svc.rooms.values()) {
        const entry = room.affiliations.get(bare);
        if (entry) rooms.append(el('room', { jid: room.jid, affiliation: entry.affiliation, nick: entry.nick }));
      }
      if (rooms.children.length > 0) add(rooms);
    });

    // A deleted account loses its affiliations and registered nicknames everywhere.
    ctx.hooks.on('user/deleted', async ({ user }) => {
      const bare = `${user}@${ctx.host}`;
      for (const room of svc.rooms.values()) {
        if (!room.affiliations.has(bare)) continue;
        room.affiliations.delete(bare);
        if (room.owners().length === 0 && room.occupants.size === 0) {
          svc.forget(room);
          await store.delete(room.local);
        } else await store.save(room);
      }
    });
  },
});
