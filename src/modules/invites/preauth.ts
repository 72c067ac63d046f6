// XEP-0379 §4: a subscription request carrying a valid token of the addressee's contact invite is
// approved on the addressee's behalf (a pre-approval the roster module then applies, RFC 6121
// §3.4), the token is used up, and the inviter asks back, so both see each other. Any other
// request goes on as a normal one.
import type { ModuleContext } from '../../core/modules.ts';
import type { StanzaEvent } from '../../core/hooks.ts';
import type { InviteStore } from './invite-store.ts';

export const NS_PARS = 'urn:xmpp:pars:0';

export async function approvePreauthorized(ctx: Pick<ModuleContext<unknown>, 'shared' | 'log'>, store: InviteStore, ev: StanzaEvent): Promise<false> {
  if (ev.stanza.attrs['type'] !== 'subscribe') return false;
  const token = ev.stanza.getChild('preauth', NS_PARS)?.attrs['token'];
  const roster = ctx.shared.get('roster');
  if (!token || !roster) return false;
  const found = await store.find(token);
  if (!found || found.invite.kind !== 'contact' || found.owner !== ev.to.local) return false;
  if (!(await store.consume(token, found.owner))) return false;
  const contact = ev.from.bareString;
  await roster.subscription(found.owner, contact, 'subscribed');
  await roster.subscription(found.owner, contact, 'subscribe');
  ctx.log.info('contact invite used');
  return false;
}
