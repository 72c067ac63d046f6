// The login form: the account's address and password.
import { escapeHtml } from '../../../transports/http-kit.ts';
import { field } from './layout.ts';

export function loginPage(host: string, opts: { address?: string; resetOffered: boolean; registerOffered: boolean }): { title: string; body: string } {
  const links = [
    opts.resetOffered ? '<a href="/account/forgot">Forgot your password?</a>' : '',
    opts.registerOffered ? '<a href="/account/register">Create an account</a>' : '',
  ].filter((l) => l !== '');
  return {
    title: 'Log in',
    body: [
      `<p>Manage your chat account on ${escapeHtml(host)}.</p>`,
      '<form method="post" action="/account/login">',
      field({ name: 'address', label: 'Your address', type: 'text', autocomplete: 'username', value: opts.address ?? '', hint: `user@${host}` }),
      field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' }),
      '<button type="submit">Log in</button>',
      '</form>',
      links.length ? `<p>${links.join(' · ')}</p>` : '',
    ].join('\n'),
  };
}
