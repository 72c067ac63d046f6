// XEP-0045 §7.x: IQs between occupants go through the room: the asker is known by its occupant
// JID only, so the id is replaced and the answer is mapped back. Bounded: at most
// MAX_PENDING relayed IQs wait at once, each at most PENDING_MS.
import { randomBytes } from 'node:crypto';
import { StanzaError } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import type { Element } from '../../core/xml/element.ts';
import type { Occupant, Room } from './room.ts';
import type { MucService } from './service.ts';

export const MAX_PENDING = 1000;
const PENDING_MS = 60_000;

interface Pending {
  id: string;
  asker: string;
  /** The target's occupant JID, the 'from' of the answer the asker gets. */
  target: string;
  /** The target's real JID, the only one allowed to answer. */
  answerer: string;
  expires: number;
}

export class IqRelay {
  readonly #pending = new Map<string, Pending>();

  /** Forwards a get/set to one session of the target occupant (vcard-temp to its bare JID, §7.x). */
  async forward(svc: MucService, room: Room, sender: Occupant, target: Occupant, stanza: Element, from: Jid): Promise<void> {
    this.#prune();
    if (this.#pending.size >= MAX_PENDING) throw new StanzaError('resource-constraint', 'Too many requests in flight', 'wait');
    const toVcard = stanza.elements[0]?.attrs['xmlns'] === 'vcard-temp';
    const answerer = toVcard ? target.bareJid : [...target.sessions.keys()].at(-1)!;
    const relayId = `muc-${randomBytes(9).toString('base64url')}`;
    this.#pending.set(relayId, {
      id: stanza.attrs['id'] ?? '', asker: from.toString(), target: `${room.jid}/${target.nick}`, answerer, expires: Date.now() + PENDING_MS,
    });
    const copy = stanza.clone();
    copy.attrs = { type: stanza.attrs['type']!, id: relayId, from: `${room.jid}/${sender.nick}`, to: answerer };
    await svc.route(copy);
  }

  /** A result or error for a relayed IQ: back to the asker with its own id. False when it is not one. */
  async answer(svc: MucService, stanza: Element, from: Jid): Promise<boolean> {
    const p = this.#pending.get(stanza.attrs['id'] ?? '');
    if (!p || (from.toString() !== p.answerer && from.bareString !== p.answerer)) return false;
    this.#pending.delete(stanza.attrs['id']!);
    const copy = stanza.clone();
    copy.attrs = { type: stanza.attrs['type']!, id: p.id, from: p.target, to: p.asker };
    await svc.route(copy);
    return true;
  }

  #prune(): void {
    const now = Date.now();
    for (const [id, p] of this.#pending) if (p.expires < now) this.#pending.delete(id);
  }
}
