// Web self-service on the HTTP(S) listeners, under /account: create an account (through the
// register module), log in, change the password, set the e-mail address for password reset
// (through the email module), reset a forgotten password, download one's data (XEP-0227), delete
// the account. Plain HTML forms, no script, nothing loaded from elsewhere, strict CSP; logins go
// through the same brute-force throttle as XMPP logins.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import type { HttpRouteRequest } from '../../core/http-routes.ts';
import { WebSessions } from './web-sessions.ts';
import { currentSession, type Site } from './site.ts';
import { plain, redirect } from './respond.ts';
import { forgot, login, register, reset } from './public-actions.ts';
import { changeEmail, changePassword, deleteAccount, exportData, logout, showAccount } from './account-actions.ts';
import type { WebSession } from './web-sessions.ts';

type Action = (site: Site, r: HttpRouteRequest) => Promise<void>;
type AccountAction = (site: Site, r: HttpRouteRequest, s: WebSession) => Promise<void>;

/** Pages anyone may open, and which methods they take. */
const PUBLIC: Record<string, { action: Action; methods: readonly string[] }> = {
  '/account/login': { action: login, methods: ['GET', 'HEAD', 'POST'] },
  '/account/register': { action: register, methods: ['GET', 'HEAD', 'POST'] },
  '/account/forgot': { action: forgot, methods: ['GET', 'HEAD', 'POST'] },
  '/account/reset': { action: reset, methods: ['GET', 'HEAD', 'POST'] },
};

/** Pages of a logged-in user. */
const PRIVATE: Record<string, { action: AccountAction; methods: readonly string[] }> = {
  '/account': { action: (site, r, s) => showAccount(site, r, s), methods: ['GET', 'HEAD'] },
  '/account/logout': { action: logout, methods: ['POST'] },
  '/account/password': { action: changePassword, methods: ['POST'] },
  '/account/email': { action: changeEmail, methods: ['POST'] },
  '/account/export': { action: exportData, methods: ['GET', 'HEAD'] },
  '/account/delete': { action: deleteAccount, methods: ['GET', 'HEAD', 'POST'] },
};

/** A Host header that names this host (maybe with a port), for links in mails. */
function hostHeaderOf(r: HttpRouteRequest): string | undefined {
  const header = r.req.headers.host ?? '';
  const m = /^([A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(header);
  return m && m[1]?.toLowerCase() === r.host ? header : undefined;
}

export const webAccount = defineModule({
  name: 'web-account',
  description: 'Web pages under /account on the HTTP(S) listeners: create an account, log in, change the password, set the e-mail address for password reset, reset a forgotten password, download one\'s data, delete the account.',
  stores: {},
  enabledByDefault: false,
  options: {
    session_idle: option.period('15m', 'a web session (kept in memory only) ends after this long without a request', { min: 60_000, max: 86_400_000 }),
    max_sessions: option.integer(1000, 'web sessions kept at most; past this the least recently used one ends', { min: 1, max: 1_000_000 }),
    public_url: option.string('', 'the origin of the links in password reset mails, e.g. "https://chat.example.org" (empty: the scheme and Host of the request when the Host names this host, else https:// and the host)'),
  },
  setup(ctx) {
    const o = ctx.options;
    const sessions = new WebSessions(o.session_idle, o.max_sessions);
    ctx.every(60_000, () => sessions.sweep());
    ctx.hooks.on('user/deleted', ({ user }) => void sessions.endUser(user));
    const site: Site = {
      host: ctx.host,
      service: ctx.server.serviceName || ctx.host,
      accounts: ctx.accounts,
      sessions,
      log: ctx.log,
      email: () => ctx.shared.get('email'),
      registration: () => ctx.shared.get('registration'),
      publicOrigin: (r) => {
        if (o.public_url) return o.public_url.replace(/\/+$/, '');
        const named = hostHeaderOf(r);
        return named ? `${r.secure ? 'https' : 'http'}://${named}` : `https://${ctx.host}`;
      },
    };
    ctx.http.route('/account', async (r) => {
      const method = r.req.method ?? '';
      const path = r.url.pathname.replace(/\/+$/, '') || '/';
      const open = PUBLIC[path];
      const own = PRIVATE[path];
      const allowed = open?.methods ?? own?.methods;
      if (!allowed) {
        plain(r, 404, 'Not found');
        return;
      }
      if (!allowed.includes(method)) {
        plain(r, 405, 'Method not allowed', { Allow: allowed.join(', ') });
        return;
      }
      if (open) {
        await open.action(site, r);
        return;
      }
      const session = currentSession(site, r);
      // A session of an account deleted or suspended meanwhile is over.
      if (session && (!(await ctx.accounts.exists(session.user)) || (await ctx.accounts.isDisabled(session.user)))) sessions.end(session.id);
      else if (session && own) {
        await own.action(site, r, session);
        return;
      }
      if (method === 'POST') plain(r, 403, 'Forbidden: you are not logged in (or your session has ended)');
      else redirect(r, '/account/login');
    });
  },
});
