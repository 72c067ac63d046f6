// XEP-0045 §10 owner use cases through <query xmlns='…#owner'>: the configuration form
// (creating instant and reserved rooms, changing the configuration) and destroying the room.
import { StanzaError } from '../../core/errors.ts';
import { tryParseJid, type Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { findForm, FormError } from '../../lib/data-form.ts';
import { removeNonMembers } from './admin.ts';
import { applyConfigForm, configForm } from './config-form.ts';
import { readSubmittedForm } from './submitted-form.ts';
import { NS_MUC_OWNER, NS_MUC_USER } from './namespaces.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';

function requireOwner(room: Room, from: Jid): void {
  if (room.affiliationOf(from.bareString) !== 'owner') throw new StanzaError('forbidden', 'Only owners configure the room');
}

export function getConfig(svc: MucService, room: Room, from: Jid): Element {
  requireOwner(room, from);
  return el('query', { xmlns: NS_MUC_OWNER }, configForm(room.config, svc.limits.maxOccupants, svc.limits.historySize));
}

export async function setOwner(svc: MucService, room: Room, from: Jid, query: Element): Promise<void> {
  requireOwner(room, from);
  const destroy = query.getChild('destroy');
  if (destroy) {
    const alternate = destroy.attrs['jid'];
    if (alternate !== undefined && !tryParseJid(alternate)) throw new StanzaError('jid-malformed', 'The alternate venue is not a JID');
    await svc.destroy(room, destroy.getChildText('reason'), alternate, destroy.getChildText('password'));
    return;
  }
  const x = findForm(query);
  if (!x) throw new StanzaError('bad-request', 'Send a data form or <destroy/>');
  const form = readSubmittedForm(x);
  // §10.1.3: cancelling the initial configuration destroys the new room.
  if (form.type === 'cancel') {
    if (room.locked) await svc.destroy(room, undefined, undefined);
    return;
  }
  if (form.type !== 'submit') throw new StanzaError('bad-request', 'Submit the form');
  let next;
  try {
    next = applyConfigForm(room.config, form, svc.limits.maxOccupants, svc.limits.historySize);
  } catch (e) {
    if (e instanceof FormError) throw new StanzaError('not-acceptable', e.message);
    throw e;
  }
  const before = room.config;
  const wasLocked = room.locked;
  room.config = next;
  room.locked = false;
  if (!next.persistent && before.persistent && room.occupants.size === 0) return svc.closeIfEmpty(room);
  await svc.store.save(room);
  if (wasLocked) return;
  // §10.2.1: occupants learn of the change (104), and of the room's new anonymity (172/173).
  const codes = [104];
  if (next.whois !== before.whois) codes.push(next.whois === 'anyone' ? 172 : 173);
  const note = el('message', { from: room.jid, type: 'groupchat' }, el('x', { xmlns: NS_MUC_USER }, ...codes.map((c) => el('status', { code: String(c) }))));
  for (const o of room.occupants.values()) await svc.toOccupant(o, note);
  if (next.membersOnly && !before.membersOnly) await removeNonMembers(svc, room);
}
