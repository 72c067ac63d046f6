// RFC 6121 roster management (§2), presence subscriptions (§3, Appendix A), presence (§4),
// pre-approvals (§3.4) and XEP-0237 roster versioning: the IM core of the server.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el } from '../../core/xml/element.ts';
import { parseJid } from '../../core/jid.ts';
import './api.ts';
import { RosterStore, type RosterItem } from './roster-store.ts';
import type { RosterMeta } from './versioning.ts';
import type { Roster, RosterSessionState } from './roster-push.ts';
import { NS_FEATURE_PREAPPROVAL, NS_FEATURE_ROSTERVER } from './roster-xml.ts';
import { registerRosterIq } from './roster-iq.ts';
import { onInbound, onOutbound } from './subscription-flow.ts';
import { answerProbe, broadcast, initialPresence } from './presence.ts';
import { onUserDeleted, onUserDeleting } from './account-cleanup.ts';
import { exportRoster, importRoster } from './portable.ts';

export const roster = defineModule({
  name: 'roster',
  description: 'Contact lists, presence subscriptions and presence broadcast (RFC 6121), with roster versioning.',
  stores: {
    roster: {
      kind: 'map',
      what: 'Contact list (roster)',
      detail: 'the addresses of your contacts, the names and groups you give them, who may see whose presence, and contact requests waiting for your answer',
    },
    // The roster version (XEP-0237): part of the contact list's record, nothing of its own.
    'roster-meta': { kind: 'keyval', partOf: 'roster' },
  },
  enabledByDefault: true,
  rfcs: ['RFC 6121'],
  xeps: [{ number: 237, version: '1.3' }],
  options: {
    max_items: option.integer(1000, 'Most contacts one roster may hold.', { min: 1 }),
    max_name_length: option.integer(256, 'Most characters of a contact name or group name.', { min: 1 }),
    max_groups: option.integer(64, 'Most groups one contact may be in.', { min: 0 }),
    max_pending_requests: option.integer(
      100,
      'Most subscription requests kept from people not in the roster; later ones are dropped until some are answered.',
      { min: 1 },
    ),
  },
  setup(ctx) {
    const r: Roster = {
      ctx,
      store: new RosterStore(ctx.store.map<RosterItem>('roster'), ctx.store.keyval<RosterMeta>('roster-meta')),
      sessions: ctx.sessionState<RosterSessionState>(),
    };
    const o = ctx.options;

    ctx.streamFeatures.add(() => el('ver', { xmlns: NS_FEATURE_ROSTERVER }));
    ctx.streamFeatures.add(() => el('sub', { xmlns: NS_FEATURE_PREAPPROVAL }));

    registerRosterIq(r, { maxItems: o.max_items, maxNameLength: o.max_name_length, maxGroups: o.max_groups });

    // Late, so filters (blocking, policy) see subscription stanzas before they change rosters.
    ctx.hooks.on('stanza/outbound', (ev) => onOutbound(r, ev), 'late');
    ctx.hooks.on('presence/bare', async (ev) => {
      if (ev.stanza.attrs['type'] === 'probe') {
        await answerProbe(r, ev);
        return true;
      }
      return onInbound(r, ev, { maxPendingRequests: o.max_pending_requests });
    });
    ctx.hooks.on('presence/broadcast', (ev) => broadcast(r, ev));
    ctx.hooks.on('session/initial-presence', ({ session }) => initialPresence(r, session));
    ctx.hooks.on('user/deleting', ({ user }) => onUserDeleting(r, user));
    ctx.hooks.on('user/deleted', ({ user, forImport }) => (forImport ? r.store.lock(user, () => r.store.clear(user)) : onUserDeleted(r, user)));
    // Subscriptions on a user's behalf (invites, XEP-0379), through the same path as the client's own.
    ctx.shared.provide('roster', {
      async subscription(user, contact, type) {
        const from = parseJid(`${user}@${ctx.host}`);
        await onOutbound(r, { stanza: el('presence', { type }), from, to: parseJid(contact), origin: undefined });
      },
      async inRoster(user, contact) {
        const item = await r.store.get(user, contact);
        return item !== undefined && !item.hidden;
      },
      async relation(user, contact) {
        const item = await r.store.get(user, contact);
        if (!item || item.hidden) return { subscription: 'none', groups: [] };
        return { subscription: item.subscription, groups: item.groups };
      },
      async relations(user) {
        const out = new Map<string, { subscription: 'none' | 'to' | 'from' | 'both'; groups: readonly string[] }>();
        for (const [jid, item] of await r.store.visible(user)) out.set(jid, { subscription: item.subscription, groups: item.groups });
        return out;
      },
      async presenceSubscribers(user) {
        const out: string[] = [];
        for (const [jid, item] of await r.store.visible(user)) if (item.subscription === 'from' || item.subscription === 'both') out.push(jid);
        return out;
      },
      async presenceSubscriptions(user) {
        const out: string[] = [];
        for (const [jid, item] of await r.store.visible(user)) if (item.subscription === 'to' || item.subscription === 'both') out.push(jid);
        return out;
      },
    });
    ctx.hooks.on('user/export', ({ user, add }) => exportRoster(r, user, add));
    ctx.hooks.on('user/import', ({ user, elements }) =>
      importRoster(r, user, elements, { maxItems: o.max_items, maxNameLength: o.max_name_length, maxGroups: o.max_groups }));
  },
});
