// RFC 6121 §2.2 roster get (with XEP-0237 versioning), §2.3–2.4 roster set, §2.5 roster remove.
import { el } from '../../core/xml/element.ts';
import { StanzaError } from '../../core/errors.ts';
import type { IqRequest } from '../../core/modules.ts';
import { newItem, subState, type RosterItem } from './roster-store.ts';
import { NS_ROSTER, itemElement, parseRosterSet, type RosterLimits } from './roster-xml.ts';
import { isCurrent, formatVer } from './versioning.ts';
import { push, type Roster, type RosterSessionState } from './roster-push.ts';
import { hasFrom, hasTo } from './subscriptions.ts';
import { sendUnavailableTo, subscriptionStanza } from './presence.ts';

export interface RosterIqLimits extends RosterLimits {
  maxItems: number;
}

function ownRoster(req: IqRequest): string {
  // §2.3.3 (and likewise for a get): only the account itself may read or change its roster.
  if (!req.isSelf) throw new StanzaError('forbidden', 'Only the account itself can access its roster');
  return req.to.local;
}

export function registerRosterIq(r: Roster, limits: RosterIqLimits): void {
  r.ctx.iq.get('account', NS_ROSTER, 'query', async (req) => {
    const user = ownRoster(req);
    const clientVer = req.payload.attrs['ver'];
    if (req.origin) {
      // From now on this resource is "interested" and gets every push (§2.1.6), even if the
      // roster changes between our read and the result.
      const state: RosterSessionState = { versioning: clientVer !== undefined };
      r.sessions.set(req.origin, state);
    }
    return r.store.lock(user, async () => {
      const meta = await r.store.meta(user);
      // XEP-0237 §2.3: the cache is current, so the result is empty (pushes bring later changes).
      if (isCurrent(clientVer, meta)) return undefined;
      const items = [...(await r.store.visible(user))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return el(
        'query',
        { xmlns: NS_ROSTER, ver: clientVer !== undefined ? formatVer(meta) : undefined },
        ...items.map(([jid, item]) => itemElement(jid, item)),
      );
    });
  });

  r.ctx.iq.set('account', NS_ROSTER, 'query', async (req) => {
    const user = ownRoster(req);
    const set = parseRosterSet(req.payload, limits);
    const jid = set.jid.toString();
    if (set.jid.equals(req.to.bare())) {
      // The account always sees its own presence (§4.2.2, §4.4.2); an item for itself would only
      // invite self-subscriptions.
      throw new StanzaError('not-allowed', 'Your own address is not a roster item');
    }
    if (set.remove) {
      await removeItem(r, user, jid);
      return undefined;
    }
    await r.store.lock(user, async () => {
      const old = await r.store.get(user, jid);
      if (!old || old.hidden) {
        const count = (await r.store.visible(user)).size;
        if (count >= limits.maxItems) throw new StanzaError('not-allowed', `The roster is full (${limits.maxItems} items)`);
      }
      const item: RosterItem = { ...(old ?? newItem()), groups: set.groups };
      delete item.hidden;
      if (set.name !== undefined) item.name = set.name;
      else delete item.name;
      const ver = await r.store.write(user, jid, item);
      await push(r, user, jid, item, ver);
    });
    return undefined;
  });
}

/**
 * §2.5.2: removing an item also ends the subscriptions both ways, so the contact's roster follows:
 * 'unsubscribe' if the account had (or asked for) the contact's presence, 'unsubscribed' if the
 * contact had (or asked for) the account's, and unavailable presence so the contact stops seeing it.
 */
export async function removeItem(r: Roster, user: string, jid: string): Promise<void> {
  const old = await r.store.lock(user, async () => {
    const item = await r.store.get(user, jid);
    if (!item) throw new StanzaError('item-not-found', 'No such roster item');
    const ver = await r.store.write(user, jid, undefined);
    if (!item.hidden) await push(r, user, jid, undefined, ver);
    return item;
  });
  const s = subState(old);
  const owner = `${user}@${r.ctx.host}`;
  if (hasTo(s.subscription) || s.pendingOut) await r.ctx.route(subscriptionStanza('unsubscribe', owner, jid));
  if (hasFrom(s.subscription) || s.pendingIn) await r.ctx.route(subscriptionStanza('unsubscribed', owner, jid));
  if (hasFrom(s.subscription)) await sendUnavailableTo(r, user, jid);
}
