// RFC 6121 §2.1.6 roster pushes to every interested resource, with XEP-0237 'ver'.
import { randomBytes } from 'node:crypto';
import { el } from '../../core/xml/element.ts';
import type { ModuleContext } from '../../core/modules.ts';
import type { Session } from '../../core/session.ts';
import type { RosterItem, RosterStore } from './roster-store.ts';
import { NS_ROSTER, itemElement, removedItemElement } from './roster-xml.ts';

/** What the parts of the module share: its context and the store. */
export interface Roster {
  readonly ctx: ModuleContext<unknown>;
  readonly store: RosterStore;
}

/** Per-session state kept in session.data under the module's name. */
export interface RosterSessionState {
  /** The client sent 'ver' in its roster get (XEP-0237), so its pushes carry 'ver' too. */
  versioning: boolean;
}

export function sessionState(session: Session, module: string): RosterSessionState | undefined {
  return session.data.get(module) as RosterSessionState | undefined;
}

/** Sessions of the user that asked for the roster: only they get pushes (§2.1.6). */
export function interested(r: Roster, user: string): Session[] {
  return r.ctx.sessions.resources(r.ctx.host, user).filter((s) => s.rosterRequested);
}

/**
 * Pushes one item (or its removal, when `item` is undefined) at version `ver` to each interested
 * resource. Each push has its own id; the clients' results come back to the router, which drops them.
 */
export function push(r: Roster, user: string, jid: string, item: RosterItem | undefined, ver: string): void {
  const payload = item && !item.hidden ? itemElement(jid, item) : removedItemElement(jid);
  for (const s of interested(r, user)) {
    const versioned = sessionState(s, r.ctx.name)?.versioning === true;
    s.send(
      el(
        'iq',
        { type: 'set', id: `push-${randomBytes(6).toString('hex')}`, from: s.jid.bareString, to: s.jid.toString() },
        el('query', { xmlns: NS_ROSTER, ver: versioned ? ver : undefined }, payload.clone()),
      ),
    );
  }
}
