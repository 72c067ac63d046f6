// The pages of a logged-in user: the account page, log out, change the password, the e-mail
// address, the data download and the deletion of the account.
import type { HttpRouteRequest } from '../../core/http-routes.ts';
import { sendPage } from '../../transports/http-kit.ts';
import type { WebSession } from './web-sessions.ts';
import { passwordHint, passwordProblem, postedForm, MAX_PASSWORD_LENGTH, type Site } from './site.ts';
import { plain, redirect, render } from './respond.ts';
import { sessionCookie } from './cookies.ts';
import { accountPage } from './templates/account.ts';
import { deletePage } from './templates/delete.ts';
import { noticePage } from './templates/notice.ts';

type Say = { status?: number; notice?: string; error?: string };

export async function showAccount(site: Site, r: HttpRouteRequest, s: WebSession, say: Say = {}): Promise<void> {
  const email = site.email();
  const view = {
    jid: `${s.user}@${site.host}`,
    csrf: s.csrf,
    email: email ? { address: await email.get(s.user) } : undefined,
    passwordHint: passwordHint(site),
  };
  render(r, site.service, accountPage(view), say);
}

export async function logout(site: Site, r: HttpRouteRequest, s: WebSession): Promise<void> {
  if (!(await postedForm(r, s))) return;
  site.sessions.end(s.id);
  redirect(r, '/account/login', { 'Set-Cookie': sessionCookie(r.secure, '') });
}

/** The password check of an action that needs it again, through the login throttle; an error text when it fails. */
async function recheck(site: Site, r: HttpRouteRequest, s: WebSession, password: string): Promise<string | undefined> {
  const verdict = await site.accounts.authenticate(s.user, password.slice(0, MAX_PASSWORD_LENGTH + 1), r.peerAddress);
  if (verdict === 'ok') return undefined;
  if (verdict === 'throttled') return 'Too many failed logins from your address; try again later.';
  if (verdict === 'disabled') return 'This account has been disabled by the operator of this service.';
  return 'Your current password is not right.';
}

export async function changePassword(site: Site, r: HttpRouteRequest, s: WebSession): Promise<void> {
  const form = await postedForm(r, s);
  if (!form) return;
  const wrong = await recheck(site, r, s, form.get('current') ?? '');
  if (wrong) {
    await showAccount(site, r, s, { status: 403, error: wrong });
    return;
  }
  const password = form.get('new') ?? '';
  const problem = passwordProblem(site, password, form.get('confirm') ?? '');
  if (problem) {
    await showAccount(site, r, s, { status: 400, error: problem });
    return;
  }
  await site.accounts.setPassword(s.user, password);
  site.sessions.endUser(s.user, s.id);
  await showAccount(site, r, s, { notice: 'Your password has been changed. Your chat apps need the new one next time they log in.' });
}

export async function changeEmail(site: Site, r: HttpRouteRequest, s: WebSession): Promise<void> {
  const email = site.email();
  if (!email) {
    plain(r, 404, 'Not found');
    return;
  }
  const form = await postedForm(r, s);
  if (!form) return;
  if (form.get('action') === 'remove') {
    await email.remove(s.user);
    await showAccount(site, r, s, { notice: 'Your e-mail address has been removed. A forgotten password can no longer be reset.' });
    return;
  }
  const wrong = await recheck(site, r, s, form.get('password') ?? '');
  if (wrong) {
    await showAccount(site, r, s, { status: 403, error: wrong });
    return;
  }
  const problem = await email.set(s.user, (form.get('email') ?? '').slice(0, 1024));
  if (problem) await showAccount(site, r, s, { status: 400, error: problem });
  else await showAccount(site, r, s, { notice: 'Your e-mail address has been saved. It is used only to reset your password.' });
}

export async function exportData(site: Site, r: HttpRouteRequest, s: WebSession): Promise<void> {
  let xml: string;
  try {
    xml = await site.accounts.exportXml(s.user);
  } catch (err) {
    site.log.warn({ err: err instanceof Error ? err.message : 'error' }, 'web data export failed');
    await showAccount(site, r, s, { status: 503, error: 'The download is not available right now.' });
    return;
  }
  const name = `${s.user}@${site.host}`.replace(/[^A-Za-z0-9@._-]/g, '_');
  sendPage(r.res, 200, 'application/xml; charset=utf-8', xml, { 'Content-Disposition': `attachment; filename="${name}.xml"` });
}

export async function deleteAccount(site: Site, r: HttpRouteRequest, s: WebSession): Promise<void> {
  const page = deletePage(`${s.user}@${site.host}`, s.csrf);
  if (r.req.method !== 'POST') {
    render(r, site.service, page);
    return;
  }
  const form = await postedForm(r, s);
  if (!form) return;
  if (form.get('confirm') !== 'yes') {
    render(r, site.service, page, { status: 400, error: 'Tick the box to confirm.' });
    return;
  }
  const wrong = await recheck(site, r, s, form.get('password') ?? '');
  if (wrong) {
    render(r, site.service, page, { status: 403, error: wrong });
    return;
  }
  await site.accounts.delete(s.user, 'This account has been deleted by its owner');
  site.sessions.endUser(s.user);
  render(r, site.service, noticePage('Account deleted', `${s.user}@${site.host} and everything stored for it have been deleted.`, { href: '/account/login', text: 'Back to the start' }), {
    headers: { 'Set-Cookie': sessionCookie(r.secure, '') },
  });
}
