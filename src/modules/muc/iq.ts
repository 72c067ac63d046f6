// IQs to the service, to a room and to an occupant JID.
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { getList, setList } from './admin.ts';
import { roomInfo, roomItems, serviceInfo, serviceItems } from './disco.ts';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC_ADMIN, NS_MUC_OWNER, NS_PING, NS_REGISTER } from './namespaces.ts';
import { getConfig, setOwner } from './owner.ts';
import { register, registrationForm } from './registration.ts';
import type { MucService } from './service.ts';

export async function handleIq(svc: MucService, stanza: Element, from: Jid, to: Jid): Promise<void> {
  const type = stanza.attrs['type'];
  // Results and errors: answers to relayed IQs, else nothing (the service asks nothing itself).
  if (type !== 'get' && type !== 'set') {
    await svc.iqRelay.answer(svc, stanza, from);
    return;
  }
  const relayed = await relayToOccupant(svc, stanza, from, to);
  if (relayed) return;
  const payload = stanza.elements[0];
  if (!payload || stanza.elements.length !== 1) throw new StanzaError('bad-request', 'An IQ has one payload');
  const result = await answer(svc, type, payload, from, to);
  await svc.route(el('iq', { type: 'result', id: stanza.attrs['id'], from: to.toString(), to: from.toString() }, result));
}

/** An IQ to another occupant goes to that occupant (XEP-0410 pings too); the server answers self-pings. */
async function relayToOccupant(svc: MucService, stanza: Element, from: Jid, to: Jid): Promise<boolean> {
  if (to.local === '' || to.resource === '') return false;
  const room = svc.roomOr404(to.local);
  const sender = room.occupantOf(from.toString());
  if (!sender) throw new StanzaError('not-acceptable', 'You are not in this room');
  const target = room.occupants.get(to.resource);
  if (!target) throw new StanzaError('item-not-found', 'No occupant has that nickname');
  if (target === sender && stanza.elements[0]?.name === 'ping' && stanza.elements[0].attrs['xmlns'] === NS_PING) return false;
  await svc.iqRelay.forward(svc, room, sender, target, stanza, from);
  return true;
}

async function answer(svc: MucService, type: 'get' | 'set', payload: Element, from: Jid, to: Jid): Promise<Element | undefined> {
  const ns = payload.attrs['xmlns'];
  const key = `${type} ${ns ?? ''} ${payload.name}`;
  const node = payload.attrs['node'];
  if (to.local === '') {
    if (key === `get ${NS_DISCO_INFO} query`) return serviceInfo(node);
    if (key === `get ${NS_DISCO_ITEMS} query`) {
      if (node !== undefined) throw new StanzaError('item-not-found', 'No such node');
      return serviceItems(svc);
    }
    if (key === `get ${NS_PING} ping`) return undefined;
    throw new StanzaError('service-unavailable');
  }
  const room = svc.roomOr404(to.local);
  if (to.resource !== '') {
    // XEP-0410: the server answers a ping to one's own occupant JID; not-acceptable when not joined.
    const self = room.occupantOf(from.toString());
    if (!self) throw new StanzaError('not-acceptable', 'You are not in this room');
    if (!room.occupants.has(to.resource)) throw new StanzaError('item-not-found', 'No occupant has that nickname');
    if (key === `get ${NS_PING} ping` && self.nick === to.resource) return undefined;
    throw new StanzaError('service-unavailable');
  }
  switch (key) {
    case `get ${NS_DISCO_INFO} query`: return roomInfo(room, from, node);
    case `get ${NS_DISCO_ITEMS} query`: return roomItems(room, from);
    case `get ${NS_PING} ping`: return undefined;
    case `get ${NS_MUC_ADMIN} query`: return getList(room, from, payload);
    case `set ${NS_MUC_ADMIN} query`: await setList(svc, room, from, payload); return undefined;
    case `get ${NS_MUC_OWNER} query`:
      // Older clients ask for the owner or admin list in #owner (XEP-0045 before 1.21).
      if (payload.getChild('item')) return getList(room, from, payload);
      return getConfig(svc, room, from);
    case `set ${NS_MUC_OWNER} query`:
      if (payload.getChild('item')) await setList(svc, room, from, payload);
      else await setOwner(svc, room, from, payload);
      return undefined;
    case `get ${NS_REGISTER} query`: return registrationForm(room, from);
    case `set ${NS_REGISTER} query`: await register(svc, room, from, payload); return undefined;
  }
  throw new StanzaError('feature-not-implemented');
}
