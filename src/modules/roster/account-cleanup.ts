// RFC 6121 §2.5 applied to account deletion: the deleted account leaves every local roster it
// was in, so a new account registered later under the same name inherits no subscription.
import { el } from '../../core/xml/element.ts';
import { push, type Roster } from './roster-push.ts';
import { hasTo } from './subscriptions.ts';
import { removeItem } from './roster-iq.ts';

/**
 * Before the data goes: every contact is told as if the account removed them from its roster
 * (RFC 6121 §2.5.2: 'unsubscribe', 'unsubscribed', unavailable presence as the subscription
 * requires), so contacts on other hosts and servers drop their subscriptions too.
 */
export async function onUserDeleting(r: Roster, user: string): Promise<void> {
  for (const jid of (await r.store.visible(user)).keys()) {
    await removeItem(r, user, jid).catch((err: unknown) => r.ctx.log.warn({ err }, 'could not tell a contact of an account deletion'));
  }
}

export async function onUserDeleted(r: Roster, user: string): Promise<void> {
  const gone = `${user}@${r.ctx.host}`;
  for (const contact of await r.store.users()) {
    if (contact === user) continue;
    const removed = await r.store.lock(contact, async () => {
      const item = await r.store.get(contact, gone);
      if (!item) return undefined;
      if (item.hidden) {
        await r.store.writeQuiet(contact, gone, undefined);
      } else {
        const ver = await r.store.write(contact, gone, undefined);
        await push(r, contact, gone, undefined, ver);
      }
      return item;
    });
    // A contact that saw the account's presence is told it is gone for good.
    if (removed && !removed.hidden && hasTo(removed.subscription)) {
      await r.ctx.route(el('presence', { type: 'unavailable', from: gone, to: `${contact}@${r.ctx.host}` }));
    }
  }
  // The account's own roster is wiped with the rest of its data (StorageBackend.deleteUser); this
  // covers the order where the hook runs first.
  await r.store.lock(user, () => r.store.clear(user));
}
