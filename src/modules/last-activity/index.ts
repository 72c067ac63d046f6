// XEP-0012 Last Activity. To the server: its uptime (§5). To an account (§4), answered by the
// server from memory only: no logout time is ever stored (the policy keeps no connection times),
// so a contact allowed to see the user's presence learns 0 seconds, or the idle time the client
// itself announced (XEP-0319), while the user is online, and <service-unavailable/> otherwise.
import { defineModule } from '../../core/modules.ts';
import { StanzaError, forbidden } from '../../core/errors.ts';
import { el } from '../../core/xml/element.ts';
import type { SessionInfo } from '../../core/session.ts';
import '../roster/api.ts';

export const NS_LAST = 'jabber:iq:last';
const NS_IDLE = 'urn:xmpp:idle:1';

/** Seconds since the least idle available resource was active: 0 unless every one says it is idle. */
export function idleSeconds(sessions: readonly SessionInfo[], now = Date.now()): number {
  let least = Infinity;
  for (const s of sessions) {
    const since = Date.parse(s.presence?.getChild('idle', NS_IDLE)?.attrs['since'] ?? '');
    if (!Number.isFinite(since)) return 0;
    least = Math.min(least, Math.max(0, Math.floor((now - since) / 1000)));
  }
  return Number.isFinite(least) ? least : 0;
}

export const lastActivity = defineModule({
  name: 'last-activity',
  description: "Last Activity (XEP-0012): the server's uptime; for a user, only while they are online (0 seconds, or the idle time their client announced) and only to contacts who may see their presence. No logout time is ever stored.",
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 12, version: '2.0', status: 'partial', note: 'no last logout time or status for offline users, by design: none is stored' }],
  options: {},
  after: ['roster'],
  setup(ctx) {
    ctx.disco.addFeature(NS_LAST);
    ctx.disco.addAccountFeature(NS_LAST);
    // §5: "the uptime of the JID sending the reply", the server process.
    ctx.iq.get('host', NS_LAST, 'query', () => el('query', { xmlns: NS_LAST, seconds: String(Math.floor(process.uptime())) }));

    ctx.iq.get('account', NS_LAST, 'query', async ({ from, to, isSelf }) => {
      if (!isSelf) {
        // §4: only someone allowed to see the user's presence (a subscription, RFC 6121 §3) may ask.
        const sub = (await ctx.shared.get('roster')?.relation(to.local, from.bareString))?.subscription;
        if (sub !== 'from' && sub !== 'both') throw forbidden('Only contacts who see this user\'s presence may ask');
      }
      // Available resources, backed up or not: the user is online either way.
      const online = ctx.sessions.resources(ctx.host, to.local).filter((s) => s.presence !== undefined);
      if (online.length === 0) throw new StanzaError('service-unavailable', 'This server keeps no record of when users were last online');
      return el('query', { xmlns: NS_LAST, seconds: String(idleSeconds(online)) });
    });
  },
});
