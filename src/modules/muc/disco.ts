// XEP-0045 §6: disco of the service (§6.1, §6.3 public rooms), of a room (§6.4 with the §15.5.4
// muc#roominfo form, XEP-0128), of a room's items (§6.5) and of a registered nick (§7.10).
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { buildForm } from '../../lib/data-form.ts';
import {
  NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_MUC_ROOMINFO, NS_OCCUPANT_ID, NS_PING, NS_REGISTER, NS_SELF_PING,
} from './namespaces.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';

export function serviceInfo(node: string | undefined): Element {
  if (node !== undefined) throw new StanzaError('item-not-found', 'No such node');
  return el('query', { xmlns: NS_DISCO_INFO },
    el('identity', { category: 'conference', type: 'text', name: 'Chatrooms' }),
    ...[NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_OCCUPANT_ID, NS_PING].map((v) => el('feature', { var: v })));
}

/** §6.3: public rooms only (hidden and unconfigured ones stay out). */
export function serviceItems(svc: MucService): Element {
  const q = el('query', { xmlns: NS_DISCO_ITEMS });
  for (const room of svc.rooms.values()) {
    if (!room.config.public || room.locked) continue;
    q.append(el('item', { jid: room.jid, name: room.config.name || room.local }));
  }
  return q;
}

export function roomInfo(room: Room, from: Jid, node: string | undefined): Element {
  if (node === 'x-roomuser-item') {
    const nick = room.registeredNick(from.bareString);
    return el('query', { xmlns: NS_DISCO_INFO, node }, nick !== undefined ? el('identity', { category: 'conference', type: 'text', name: nick }) : null);
  }
  if (node !== undefined) throw new StanzaError('item-not-found', 'No such node');
  const c = room.config;
  const features = [
    NS_MUC, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_OCCUPANT_ID, NS_SELF_PING, NS_PING, NS_REGISTER,
    c.public ? 'muc_public' : 'muc_hidden',
    c.membersOnly ? 'muc_membersonly' : 'muc_open',
    c.moderated ? 'muc_moderated' : 'muc_unmoderated',
    c.passwordProtected ? 'muc_passwordprotected' : 'muc_unsecured',
    c.persistent ? 'muc_persistent' : 'muc_temporary',
    c.whois === 'anyone' ? 'muc_nonanonymous' : 'muc_semianonymous',
  ];
  const info = buildForm({
    type: 'result',
    formType: NS_MUC_ROOMINFO,
    fields: [
      { var: 'muc#roominfo_description', label: 'Description', values: [c.description] },
      { var: 'muc#roominfo_occupants', label: 'Number of occupants', values: [String(room.occupants.size)] },
      { var: 'muc#roominfo_subject', label: 'Subject', values: [room.subject?.text ?? ''] },
      { var: 'muc#roominfo_subjectmod', type: 'boolean', label: 'Occupants may change the subject', values: [c.changeSubject ? '1' : '0'] },
      { var: 'muc#roomconfig_roomname', label: 'Name', values: [c.name] },
      { var: 'muc#maxhistoryfetch', label: 'Messages of history kept (in memory only)', values: [String(c.historyLength)] },
      { var: 'muc#roomconfig_allowinvites', type: 'boolean', values: [c.allowInvites ? '1' : '0'] },
      { var: 'muc#roomconfig_allowpm', values: [c.allowPm] },
    ],
  });
  return el('query', { xmlns: NS_DISCO_INFO },
    el('identity', { category: 'conference', type: 'text', name: c.name || room.local }),
    ...features.map((v) => el('feature', { var: v })),
    info);
}

/** §6.5: occupants are listed to occupants only; others get an empty list. */
export function roomItems(room: Room, from: Jid): Element {
  const q = el('query', { xmlns: NS_DISCO_ITEMS });
  if (!room.occupantOf(from.toString())) return q;
  for (const o of room.occupants.values()) q.append(el('item', { jid: `${room.jid}/${o.nick}` }));
  return q;
}
