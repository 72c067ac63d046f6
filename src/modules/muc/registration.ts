// XEP-0045 §7.10: registering with a room (jabber:iq:register, form muc#register) reserves a
// nickname for the user, who becomes a member; the nickname is then refused to anyone else.
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { buildForm, findForm, FormError, parseForm } from '../../lib/data-form.ts';
import { prepResourcepart } from '../../core/jid.ts';
import { NS_MUC_REGISTER, NS_REGISTER } from './namespaces.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';

export function registrationForm(room: Room, from: Jid): Element {
  const affiliation = room.affiliationOf(from.bareString);
  if (affiliation === 'outcast') throw new StanzaError('forbidden', 'You are banned from this room');
  const nick = room.registeredNick(from.bareString);
  // §7.10: an already registered user is told so, with the nickname.
  if (nick !== undefined) return el('query', { xmlns: NS_REGISTER }, el('registered'), el('username', {}, nick));
  return el('query', { xmlns: NS_REGISTER },
    el('instructions', {}, 'Register a nickname in this room: nobody else can use it.'),
    buildForm({
      type: 'form', formType: NS_MUC_REGISTER, title: `Registration with ${room.jid}`,
      fields: [{ var: 'muc#register_roomnick', type: 'text-single', label: 'Desired nickname', required: true }],
    }));
}

export async function register(svc: MucService, room: Room, from: Jid, query: Element): Promise<void> {
  const bare = from.bareString;
  const affiliation = room.affiliationOf(bare);
  if (affiliation === 'outcast') throw new StanzaError('forbidden', 'You are banned from this room');
  if (query.getChild('remove')) {
    const entry = room.affiliations.get(bare);
    if (entry) {
      delete entry.nick;
      if (entry.affiliation === 'none') room.affiliations.delete(bare);
    }
    await svc.store.save(room);
    return;
  }
  const x = findForm(query);
  if (!x) throw new StanzaError('bad-request', 'Submit the muc#register form');
  let nick: string | undefined;
  try {
    const form = parseForm(x);
    if (form.formType !== NS_MUC_REGISTER) throw new FormError('Not a muc#register form');
    if (form.type === 'cancel') return;
    nick = form.text('muc#register_roomnick');
  } catch (e) {
    if (e instanceof FormError) throw new StanzaError('bad-request', e.message);
    throw e;
  }
  if (nick === undefined) throw new StanzaError('not-acceptable', 'A nickname is required');
  try {
    nick = prepResourcepart(nick);
  } catch {
    throw new StanzaError('jid-malformed', 'That nickname is not valid');
  }
  // §7.10: in a members-only room, only members register (admins grant membership).
  if (room.config.membersOnly && affiliation === 'none') throw new StanzaError('registration-required', 'Ask an admin for membership of this room');
  const holder = room.nickOwner(nick);
  const inUse = room.occupants.get(nick);
  if ((holder !== undefined && holder !== bare) || (inUse && inUse.bareJid !== bare)) throw new StanzaError('conflict', 'That nickname is taken');
  const entry = room.affiliations.get(bare);
  if (!entry && room.affiliations.size >= svc.limits.maxAffiliations) {
    throw new StanzaError('resource-constraint', `A room's lists hold at most ${svc.limits.maxAffiliations} entries`, 'cancel');
  }
  room.affiliations.set(bare, { affiliation: affiliation === 'none' ? 'member' : affiliation, nick, ...(entry?.reason ? { reason: entry.reason } : {}) });
  await svc.store.save(room);
  for (const o of room.occupants.values()) {
    if (o.bareJid !== bare) continue;
    if (o.role === 'visitor') o.role = 'participant';
    await svc.broadcastPresence(room, o);
  }
}
