// RFC 6121 §2.1.6 roster pushes to every interested resource, with XEP-0237 'ver'.
import { randomBytes } from 'node:crypto';
import { el } from '../../core/xml/element.ts';
import type { ModuleContext, SessionState } from '../../core/modules.ts';
import type { SessionInfo } from '../../core/session.ts';
import type { RosterItem, RosterStore } from './roster-store.ts';
import { NS_ROSTER, itemElement, removedItemElement } from './roster-xml.ts';

/** What the parts of the module share: its context, the store and its per-session state. */
export interface Roster {
  readonly ctx: ModuleContext<unknown>;
  readonly store: RosterStore;
  /** Sessions that asked for the roster, with what they asked for: only they get pushes (§2.1.6). */
  readonly sessions: SessionState<RosterSessionState>;
}

/** What the roster module remembers of a session that requested the roster. */
export interface RosterSessionState {
  /** The client sent 'ver' in its roster get (XEP-0237), so its pushes carry 'ver' too. */
  versioning: boolean;
}

/** Sessions of the user that asked for the roster: only they get pushes (§2.1.6). */
export function interested(r: Roster, user: string): SessionInfo[] {
  return r.ctx.sessions.resources(r.ctx.host, user).filter((s) => r.sessions.get(s) !== undefined);
}

/**
 * Pushes one item (or its removal, when `item` is undefined) at version `ver` to each interested
 * resource. Each push has its own id; the clients' results come back to the router, which drops them.
 */
export async function push(r: Roster, user: string, jid: string, item: RosterItem | undefined, ver: string): Promise<void> {
  const payload = item && !item.hidden ? itemElement(jid, item) : removedItemElement(jid);
  for (const s of interested(r, user)) {
    const versioned = r.sessions.get(s)?.versioning === true;
    await r.ctx.deliver(
      el(
        'iq',
        { type: 'set', id: `push-${randomBytes(6).toString('hex')}`, from: s.jid.bareString, to: s.jid.toString() },
        el('query', { xmlns: NS_ROSTER, ver: versioned ? ver : undefined }, payload.clone()),
      ),
    );
  }
}
