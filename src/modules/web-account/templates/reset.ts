// Password reset by e-mail: asking for a link, what the page answers (always the same), and the
// form behind the link.
import { escapeHtml } from '../../../transports/http-kit.ts';
import { field, hidden } from './layout.ts';

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : `${minutes} minutes`;
}

export function forgotPage(host: string): { title: string; body: string } {
  return {
    title: 'Forgot your password?',
    body: [
      '<p>A link to choose a new password can be sent to the e-mail address you set on your account page. Without an e-mail address on file, a forgotten password can\'t be reset here.</p>',
      '<form method="post" action="/account/forgot">',
      field({ name: 'who', label: 'Your chat address or your e-mail address', type: 'text', autocomplete: 'username', hint: `user@${host} or the e-mail address you set` }),
      '<button type="submit">Send a reset link</button>',
      '</form>',
      '<p><a href="/account/login">Back to log in</a></p>',
    ].join('\n'),
  };
}

export function resetSentPage(lifetimeMs: number): { title: string; body: string } {
  return {
    title: 'Check your mail',
    body: [
      `<p>If an e-mail address is on file for this account, a mail with a link was sent to it. The link works once, within ${escapeHtml(duration(lifetimeMs))}.</p>`,
      '<p>No mail? Without an e-mail address on file there is no reset.</p>',
      '<p><a href="/account/login">Back to log in</a></p>',
    ].join('\n'),
  };
}

export function resetUnavailablePage(): { title: string; body: string } {
  return {
    title: 'Password reset',
    body: '<p>Password reset by e-mail is not offered on this service.</p>\n<p><a href="/account/login">Back to log in</a></p>',
  };
}

export function newPasswordPage(jid: string, token: string, passwordHint: string): { title: string; body: string } {
  return {
    title: 'Choose a new password',
    body: [
      `<p>For <strong>${escapeHtml(jid)}</strong>. Your chat apps will be logged out and need the new password.</p>`,
      '<form method="post" action="/account/reset">',
      hidden('token', token),
      field({ name: 'new', label: 'New password', type: 'password', autocomplete: 'new-password', hint: passwordHint }),
      field({ name: 'confirm', label: 'New password again', type: 'password', autocomplete: 'new-password' }),
      '<button type="submit">Set the new password</button>',
      '</form>',
    ].join('\n'),
  };
}

export function linkInvalidPage(): { title: string; body: string } {
  return {
    title: 'Link not valid',
    body: '<p>This link has expired or was already used. You can ask for a new one.</p>\n<p><a href="/account/forgot">Ask for a new link</a></p>',
  };
}
