// XEP-0401 Easy User Onboarding and XEP-0379 Pre-Authenticated Roster Subscription: users make
// contact invites and admins (or the operator's `jabberx invite`) account invites, as ad-hoc
// commands; each has an xmpp: URI and a landing page; a subscription request carrying a valid
// token is approved on the inviter's behalf. The register module redeems account invites
// through the shared `invites` service (src/core/invite-service.ts).
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import '../../core/invite-service.ts';
import './api.ts';
import { InviteStore, OPERATOR, type Invite, type TokenEntry } from './invite-store.ts';
import { accountInviteUri, contactInviteUri } from './uris.ts';
import { sendInvitePage, sendUnknownInvitePage } from './landing-page.ts';
import { inviteCommands } from './commands.ts';
import { approvePreauthorized } from './preauth.ts';
import type { CreatedInvite } from './api.ts';

export const invites = defineModule({
  name: 'invites',
  description: 'Invites (XEP-0401, XEP-0379): users invite contacts, admins and the operator (`jabberx invite`) invite new accounts; each invite is an xmpp: link with a landing page, expires, and is used once.',
  stores: {
    invites: {
      kind: 'map',
      what: 'Invites you made',
      detail: 'each invite you create (a random token, when it was made and expires, whether it creates an account), until it is used or expires; nothing about the person you give it to',
    },
    // The token -> inviter index of the invites above.
    'invite-tokens': { kind: 'keyval', partOf: 'invites' },
  },
  enabledByDefault: false,
  xeps: [
    { number: 401, version: '0.5.0', status: 'partial', note: 'registering with an account invite is done by the register module (mode invite); no roster groups or reset invites' },
    { number: 379, version: '0.3.3' },
  ],
  options: {
    lifetime: option.period('7d', 'How long an invite stays valid (and longest a `jabberx invite --expires` may ask); expired invites are deleted.', { min: 1000, max: 90 * 86_400_000 }),
    users_can_invite: option.boolean(true, 'Any account of the host may make contact invites (ad-hoc command urn:xmpp:invite#invite).'),
    users_can_invite_accounts: option.boolean(false, 'A user\'s contact invite also lets the invitee create an account here (ibr=y), as account invites do.'),
    max_invites_per_user: option.integer(20, 'Most unused, unexpired invites one account may have out.', { min: 1 }),
    web_url: { ...option.string('', 'Where the landing pages are reached from outside, e.g. https://example.org behind a reverse proxy; by default the https listener, else the http one, at the host\'s name.'), defaultText: 'the http(s) listener' },
  },
  dependencies: ['adhoc'],
  setup(ctx) {
    const o = ctx.options;
    const store = new InviteStore(ctx.store.map<Invite>('invites'), ctx.store.keyval<TokenEntry>('invite-tokens'));
    const pageOf = (token: string): string | undefined => {
      const base = o.web_url.replace(/\/+$/, '') || ctx.http.baseUrl();
      return base ? `${base}/invite/${token}` : undefined;
    };
    const uriOf = (owner: string, token: string, invite: Invite): string =>
      invite.kind === 'account' ? accountInviteUri(ctx.host, token) : contactInviteUri(owner, ctx.host, token, invite.createsAccount);
    const createsAccount = (invite: Invite): boolean => invite.kind === 'account' || (invite.createsAccount && o.users_can_invite_accounts);

    /** Makes an invite of `owner` (an account's localpart, or OPERATOR). */
    const create = async (owner: string, kind: Invite['kind'], lifetimeMs: number, username?: string): Promise<CreatedInvite> => {
      const now = Date.now();
      const invite: Invite = { kind, createsAccount: kind === 'account' || o.users_can_invite_accounts, created: now, expires: now + Math.min(lifetimeMs, o.lifetime) };
      if (username !== undefined) invite.username = username;
      const token = await store.add(owner, invite);
      ctx.log.info({ kind }, 'invite created');
      return { uri: uriOf(owner, token, invite), page: pageOf(token), expires: new Date(invite.expires).toISOString() };
    };

    ctx.shared.provide('invites', {
      async check(token) {
        const found = await store.find(token);
        if (!found || !createsAccount(found.invite)) return undefined;
        const inviter = found.owner === OPERATOR ? undefined : `${found.owner}@${ctx.host}`;
        return { ...(inviter ? { inviter } : {}), ...(found.invite.username !== undefined ? { username: found.invite.username } : {}) };
      },
      async redeem(token, user) {
        const found = await store.find(token);
        if (!found || !createsAccount(found.invite) || !(await store.consume(token, found.owner))) throw new Error('the invite is not valid (unknown, expired or used)');
        ctx.log.info({ kind: found.invite.kind }, 'invite used');
        const roster = ctx.shared.get('roster');
        if (found.invite.kind !== 'contact' || !roster) return;
        // XEP-0401 §3: inviter and invitee become contacts of each other, both pre-approved first.
        const inviter = `${found.owner}@${ctx.host}`;
        const invitee = `${user}@${ctx.host}`;
        await roster.subscription(found.owner, invitee, 'subscribed');
        await roster.subscription(user, inviter, 'subscribed');
        await roster.subscription(user, inviter, 'subscribe');
        await roster.subscription(found.owner, invitee, 'subscribe');
      },
    });
    ctx.shared.provide('invite-issuer', {
      createAccountInvite: ({ lifetimeMs }) => create(OPERATOR, 'account', lifetimeMs ?? o.lifetime),
    });

    for (const cmd of inviteCommands({ host: ctx.host, usersCanInvite: o.users_can_invite, maxPerUser: o.max_invites_per_user, lifetime: o.lifetime, count: (owner) => store.countOf(owner), create })) {
      const adhoc = ctx.shared.get('adhoc');
      if (adhoc) ctx.onClose(adhoc.add(cmd));
    }

    ctx.hooks.on('presence/bare', (ev) => approvePreauthorized(ctx, store, ev), 'early');

    ctx.http.route('/invite', async ({ res, url }) => {
      const token = url.pathname.slice('/invite/'.length);
      const found = url.pathname.startsWith('/invite/') ? await store.find(token) : undefined;
      if (!found) return sendUnknownInvitePage(res, ctx.host);
      sendInvitePage(res, {
        host: ctx.host,
        inviter: found.invite.kind === 'contact' ? `${found.owner}@${ctx.host}` : undefined,
        uri: uriOf(found.owner, token, found.invite),
        expires: new Date(found.invite.expires),
        createsAccount: createsAccount(found.invite),
      });
    });

    ctx.retention('invites', o.lifetime, (cutoff) => store.purgeExpired(cutoff.getTime() + o.lifetime));
    // The account's invites went with its data; their index entries go now.
    ctx.hooks.on('user/deleted', ({ user }) => store.forgetOwner(user));
  },
});
