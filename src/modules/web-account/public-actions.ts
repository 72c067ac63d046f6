// The pages for people who are not logged in: log in, create an account, forgot password, and
// the target of a reset link.
import type { HttpRouteRequest } from '../../core/http-routes.ts';
import { Accounts } from '../../core/accounts.ts';
import { RegistrationError } from '../../core/registration-service.ts';
import { currentSession, passwordHint, passwordProblem, postedForm, MAX_PASSWORD_LENGTH, type Site } from './site.ts';
import { redirect, render } from './respond.ts';
import { sessionCookie } from './cookies.ts';
import { loginPage } from './templates/login.ts';
import { registerPage } from './templates/register.ts';
import { forgotPage, linkInvalidPage, newPasswordPage, resetSentPage, resetUnavailablePage } from './templates/reset.ts';
import { noticePage } from './templates/notice.ts';

/** The user name an address typed on the login form names on this host, or undefined. */
function localUser(address: string, host: string): string | undefined {
  const typed = address.trim();
  const at = typed.lastIndexOf('@');
  if (at >= 0 && typed.slice(at + 1).toLowerCase() !== host) return undefined;
  try {
    const user = Accounts.prepUser(at >= 0 ? typed.slice(0, at) : typed);
    return user === '' ? undefined : user;
  } catch {
    return undefined;
  }
}

const LOGIN_ERRORS = {
  wrong: 'Wrong address or password.',
  throttled: 'Too many failed logins from your address; try again later.',
  disabled: 'This account has been disabled by the operator of this service.',
} as const;

export async function login(site: Site, r: HttpRouteRequest): Promise<void> {
  const view = (address?: string) => loginPage(site.host, { address, resetOffered: site.email() !== undefined, registerOffered: (site.registration()?.mode ?? 'closed') !== 'closed' });
  if (r.req.method !== 'POST') {
    if (currentSession(site, r)) redirect(r, '/account');
    else render(r, site.service, view());
    return;
  }
  const form = await postedForm(r);
  if (!form) return;
  const address = form.get('address') ?? '';
  const password = form.get('password') ?? '';
  const user = localUser(address, site.host);
  // A name that can't be an account here is still checked, so it fails (and counts) like a wrong password.
  const verdict = await site.accounts.authenticate(user ?? address.slice(0, 1023), password.slice(0, MAX_PASSWORD_LENGTH + 1), r.peerAddress);
  if (verdict !== 'ok' || user === undefined) {
    render(r, site.service, view(address), { status: verdict === 'throttled' ? 429 : 403, error: LOGIN_ERRORS[verdict === 'ok' ? 'wrong' : verdict] });
    return;
  }
  const session = site.sessions.start(user);
  redirect(r, '/account', { 'Set-Cookie': sessionCookie(r.secure, session.id) });
}

export async function register(site: Site, r: HttpRouteRequest): Promise<void> {
  const reg = site.registration();
  const mode = reg?.mode ?? 'closed';
  const show = (v: { user?: string; invite?: string }, opts: { status?: number; error?: string } = {}) => {
    const captcha = mode === 'captcha' ? reg?.newCaptcha() : undefined;
    render(r, site.service, registerPage({ host: site.host, mode, passwordHint: passwordHint(site), ...v, ...(captcha ? { captcha } : {}) }), { ...opts, images: captcha !== undefined });
  };
  if (r.req.method !== 'POST' || !reg || mode === 'closed') {
    const invite = r.url.searchParams.get('invite') ?? undefined;
    show(invite ? { invite } : {});
    return;
  }
  const form = await postedForm(r);
  if (!form) return;
  const user = (form.get('user') ?? '').trim();
  const password = form.get('password') ?? '';
  const invite = form.get('invite') || undefined;
  const problem = passwordProblem(site, password, form.get('confirm') ?? '');
  if (problem) {
    show({ user, ...(invite ? { invite } : {}) }, { status: 400, error: problem });
    return;
  }
  const captchaId = form.get('captcha_id');
  try {
    await reg.register({ user, password, peerAddress: r.peerAddress, ...(invite ? { invite } : {}), ...(captchaId ? { captcha: { id: captchaId, answer: form.get('captcha') ?? '' } } : {}) });
  } catch (err) {
    if (!(err instanceof RegistrationError)) throw err;
    show({ user, ...(invite ? { invite } : {}) }, { status: 400, error: err.message });
    return;
  }
  let jid = `${user}@${site.host}`;
  try {
    jid = `${Accounts.prepUser(user)}@${site.host}`;
  } catch {
    // registered as typed
  }
  render(r, site.service, noticePage('Account created', `Your account ${jid} is ready: log in with your chat app, or here to manage it.`));
}

export async function forgot(site: Site, r: HttpRouteRequest): Promise<void> {
  const email = site.email();
  if (!email) {
    render(r, site.service, resetUnavailablePage(), { status: 404 });
    return;
  }
  if (r.req.method !== 'POST') {
    render(r, site.service, forgotPage(site.host));
    return;
  }
  const form = await postedForm(r);
  if (!form) return;
  const origin = site.publicOrigin(r);
  email.requestReset((form.get('who') ?? '').slice(0, 1024), r.peerAddress, (token) => `${origin}/account/reset?token=${encodeURIComponent(token)}`);
  // The same answer whether or not the account or an address exists.
  render(r, site.service, resetSentPage(email.resetLifetimeMs));
}

export async function reset(site: Site, r: HttpRouteRequest): Promise<void> {
  const email = site.email();
  if (!email) {
    render(r, site.service, resetUnavailablePage(), { status: 404 });
    return;
  }
  if (r.req.method !== 'POST') {
    const token = r.url.searchParams.get('token') ?? '';
    const user = email.peekReset(token);
    if (user === undefined) render(r, site.service, linkInvalidPage(), { status: 410 });
    else render(r, site.service, newPasswordPage(`${user}@${site.host}`, token, passwordHint(site)));
    return;
  }
  const form = await postedForm(r);
  if (!form) return;
  const token = form.get('token') ?? '';
  const user = email.peekReset(token);
  if (user === undefined) {
    render(r, site.service, linkInvalidPage(), { status: 410 });
    return;
  }
  const password = form.get('new') ?? '';
  // Checked before the token is used, so a typo doesn't cost the link.
  const problem = passwordProblem(site, password, form.get('confirm') ?? '');
  if (problem) {
    render(r, site.service, newPasswordPage(`${user}@${site.host}`, token, passwordHint(site)), { status: 400, error: problem });
    return;
  }
  if (email.redeemReset(token) !== user) {
    render(r, site.service, linkInvalidPage(), { status: 410 });
    return;
  }
  await site.accounts.setPassword(user, password);
  // Whoever knew the old password is out: chat sessions and web sessions alike.
  site.accounts.endSessions(user, 'The password of this account was reset');
  site.sessions.endUser(user);
  render(r, site.service, noticePage('Password changed', 'Your new password is set. Log in with it in your chat apps.'));
}
