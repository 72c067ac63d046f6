// Messages to a room (§7.4 groupchat, §8.1 subject, §7.8 invitations, §8.6 voice requests)
// and to an occupant (§7.5 private messages). Room messages live in memory only.
import { StanzaError } from '../../core/errors.ts';
import { tryParseJid, type Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { buildForm, NS_DATA } from '../../lib/data-form.ts';
import { readSubmittedForm } from './submitted-form.ts';
import { NS_HINTS, NS_MUC_REQUEST, NS_MUC_USER, NS_OCCUPANT_ID } from './namespaces.ts';
import { affiliationRank, roleRank, type Occupant, type Room } from './room.ts';
import type { MucService } from './service.ts';
import { setRole } from './admin.ts';

export async function handleMessage(svc: MucService, stanza: Element, from: Jid, to: Jid): Promise<void> {
  const type = stanza.attrs['type'];
  const room = svc.roomOr404(to.local);
  const full = from.toString();
  const sender = room.occupantOf(full);
  if (type === 'error') {
    // A bounce from an occupant's client: it is gone (§ "ghost" users, 333).
    if (sender && to.resource === '') await svc.removeOccupant(room, sender, { codes: [333] });
    return;
  }
  if (to.resource !== '') return privateMessage(svc, room, sender, to.resource, stanza);
  const user = stanza.getChild('x', NS_MUC_USER);
  if (user?.getChild('invite')) return invite(svc, room, from, sender, user.getChild('invite')!);
  if (user?.getChild('decline')) return decline(svc, room, from, user.getChild('decline')!);
  const form = stanza.getChild('x', NS_DATA);
  if (form && type !== 'groupchat') return voiceForm(svc, room, sender, form);
  if (type !== 'groupchat') throw new StanzaError('bad-request', 'Messages to a room are of type groupchat');
  if (!sender) throw new StanzaError('not-acceptable', 'You are not in this room');
  if (!sender.bucket.take()) throw new StanzaError('resource-constraint', 'You are sending messages too fast', 'wait');
  const subject = stanza.getChild('subject');
  if (subject && !stanza.getChild('body')) return changeSubject(svc, room, sender, subject.text());
  if (sender.role === 'visitor' || sender.role === 'none') throw new StanzaError('forbidden', 'You have no voice in this room');
  const out = el('message', { from: `${room.jid}/${sender.nick}`, type: 'groupchat', id: stanza.attrs['id'] });
  for (const c of stanza.elements) if (c.attrs['xmlns'] !== NS_OCCUPANT_ID) out.append(c.clone());
  out.append(el('occupant-id', { xmlns: NS_OCCUPANT_ID, id: sender.occupantId }));
  if (stanza.getChild('body')) room.history.add(out, room.config.historyLength);
  for (const o of room.occupants.values()) await svc.toOccupant(o, out);
}

/** §8.1: moderators, or anyone with voice when the room allows it. */
async function changeSubject(svc: MucService, room: Room, sender: Occupant, text: string): Promise<void> {
  const allowed = sender.role === 'moderator' || (room.config.changeSubject && roleRank(sender.role) >= roleRank('participant'));
  if (!allowed) throw new StanzaError('forbidden', 'You may not change the subject');
  room.subject = text === '' ? undefined : { text, from: sender.nick };
  const out = el('message', { from: `${room.jid}/${sender.nick}`, type: 'groupchat' }, el('subject', {}, text), el('occupant-id', { xmlns: NS_OCCUPANT_ID, id: sender.occupantId }));
  for (const o of room.occupants.values()) await svc.toOccupant(o, out);
}

/** §7.5: to one occupant, through the room, as the room allows. */
async function privateMessage(svc: MucService, room: Room, sender: Occupant | undefined, nick: string, stanza: Element): Promise<void> {
  if (!sender) throw new StanzaError('not-acceptable', 'You are not in this room');
  const type = stanza.attrs['type'];
  if (type === 'groupchat') throw new StanzaError('bad-request', 'A groupchat message goes to the room itself');
  const pm = room.config.allowPm;
  const allowed = pm === 'anyone' || (pm === 'participants' && roleRank(sender.role) >= roleRank('participant')) || (pm === 'moderators' && sender.role === 'moderator');
  if (!allowed) throw new StanzaError('forbidden', 'Private messages are not allowed in this room');
  const target = room.occupants.get(nick);
  if (!target) throw new StanzaError('item-not-found', 'No occupant has that nickname');
  if (!sender.bucket.take()) throw new StanzaError('resource-constraint', 'You are sending messages too fast', 'wait');
  const out = el('message', { from: `${room.jid}/${sender.nick}`, type: type ?? 'normal', id: stanza.attrs['id'] });
  for (const c of stanza.elements) if (c.attrs['xmlns'] !== NS_OCCUPANT_ID && c.attrs['xmlns'] !== NS_MUC_USER && c.attrs['xmlns'] !== NS_HINTS) out.append(c.clone());
  out.append(el('x', { xmlns: NS_MUC_USER }));
  out.append(el('occupant-id', { xmlns: NS_OCCUPANT_ID, id: sender.occupantId }));
  // XEP-0334: a room message is never stored, not even offline should the occupant's session vanish.
  out.append(el('no-store', { xmlns: NS_HINTS }));
  await svc.toOccupant(target, out);
}

/** §7.8.2 mediated invitation. */
async function invite(svc: MucService, room: Room, from: Jid, sender: Occupant | undefined, inv: Element): Promise<void> {
  if (!sender) throw new StanzaError('not-acceptable', 'You are not in this room');
  if (!sender.bucket.take()) throw new StanzaError('resource-constraint', 'You are sending messages too fast', 'wait');
  const invitee = tryParseJid(inv.attrs['to']);
  if (!invitee) throw new StanzaError('jid-malformed', 'The invitation has no valid "to"');
  const affiliation = room.affiliationOf(from.bareString);
  const isAdmin = affiliationRank(affiliation) >= affiliationRank('admin');
  if (!isAdmin && !room.config.allowInvites && sender.role !== 'moderator') throw new StanzaError('forbidden', 'Occupants may not invite in this room');
  // §7.8.2: in a members-only room, an invitation by an admin makes the invitee a member.
  if (room.config.membersOnly) {
    if (!isAdmin && !room.config.allowInvites) throw new StanzaError('forbidden', 'Only admins may invite to this members-only room');
    if (isAdmin && room.affiliationOf(invitee.bareString) === 'none' && room.affiliations.size < svc.limits.maxAffiliations) {
      room.setAffiliation(invitee.bareString, 'member');
      await svc.store.save(room);
    }
  }
  const reason = inv.getChildText('reason');
  const user = el('x', { xmlns: NS_MUC_USER }, el('invite', { from: from.bareString }, reason !== undefined ? el('reason', {}, reason) : null));
  if (room.config.passwordProtected) user.append(el('password', {}, room.config.password));
  await svc.route(el('message', { from: room.jid, to: invitee.bareString }, user, el('body', {}, `${from.bareString} invites you to the room ${room.jid}${reason ? `: ${reason}` : ''}`)));
}

/** §7.8.2: the invitee declines; the room tells the inviter. */
async function decline(svc: MucService, room: Room, from: Jid, dec: Element): Promise<void> {
  const inviter = tryParseJid(dec.attrs['to']);
  if (!inviter) throw new StanzaError('jid-malformed', 'The decline has no valid "to"');
  const reason = dec.getChildText('reason');
  await svc.route(el('message', { from: room.jid, to: inviter.bareString },
    el('x', { xmlns: NS_MUC_USER }, el('decline', { from: from.bareString }, reason !== undefined ? el('reason', {}, reason) : null))));
}

/** §8.6: a visitor asks for voice (moderators get the form), or a moderator answers one. */
async function voiceForm(svc: MucService, room: Room, sender: Occupant | undefined, x: Element): Promise<void> {
  const form = readSubmittedForm(x);
  if (form.formType !== NS_MUC_REQUEST) throw new StanzaError('bad-request', 'Unknown form');
  if (!sender) throw new StanzaError('not-acceptable', 'You are not in this room');
  if (form.has('muc#request_allow')) {
    if (sender.role !== 'moderator') throw new StanzaError('forbidden', 'Only moderators approve voice requests');
    if (form.boolean('muc#request_allow') !== true) return;
    const nick = form.text('muc#roomnick');
    const target = nick === undefined ? undefined : room.occupants.get(nick);
    if (!target) throw new StanzaError('item-not-found', 'That occupant has left');
    if (target.role === 'visitor') await setRole(svc, room, sender, target, 'participant', undefined);
    return;
  }
  if (form.text('muc#role') !== 'participant') throw new StanzaError('bad-request', 'Only voice (participant) can be requested');
  if (sender.role !== 'visitor') return;
  if (!sender.bucket.take()) throw new StanzaError('resource-constraint', 'You are sending requests too fast', 'wait');
  const request = buildForm({
    type: 'form', formType: NS_MUC_REQUEST, title: 'Voice request',
    instructions: ['To approve this request for voice, select the "Grant voice to this person?" checkbox and submit this form.'],
    fields: [
      { var: 'muc#role', type: 'list-single', label: 'Requested role', values: ['participant'] },
      { var: 'muc#jid', type: 'jid-single', label: 'User ID', values: [[...sender.sessions.keys()].at(-1) ?? sender.bareJid] },
      { var: 'muc#roomnick', type: 'text-single', label: 'Room Nickname', values: [sender.nick] },
      { var: 'muc#request_allow', type: 'boolean', label: 'Grant voice to this person?', values: ['false'] },
    ],
  });
  for (const o of room.occupants.values()) {
    if (o.role !== 'moderator') continue;
    const shown = request.clone();
    if (!room.showsJidTo(o)) shown.children = shown.children.filter((c) => typeof c === 'string' || c.attrs['var'] !== 'muc#jid');
    await svc.toOccupant(o, el('message', { from: room.jid }, shown));
  }
}

