// The registration form, as the service's mode asks: an invitation, a CAPTCHA, or nothing more.
import { escapeHtml } from '../../../transports/http-kit.ts';
import type { RegistrationMode } from '../../../core/registration-service.ts';
import { field, hidden } from './layout.ts';

export interface RegisterView {
  host: string;
  mode: RegistrationMode;
  user?: string;
  invite?: string;
  captcha?: { id: string; png: Buffer };
  passwordHint: string;
}

export function registerPage(v: RegisterView): { title: string; body: string } {
  if (v.mode === 'closed') return { title: 'Create an account', body: `<p>Registration is closed on ${escapeHtml(v.host)}.</p>\n<p><a href="/account/login">Log in</a></p>` };
  const out = [
    `<p>Create a chat account on ${escapeHtml(v.host)}.</p>`,
    '<form method="post" action="/account/register">',
    field({ name: 'user', label: 'User name', type: 'text', autocomplete: 'username', value: v.user ?? '', hint: `Your address will be name@${v.host}` }),
    field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: v.passwordHint }),
    field({ name: 'confirm', label: 'Password again', type: 'password', autocomplete: 'new-password' }),
  ];
  if (v.mode === 'invite') {
    out.push(v.invite ? hidden('invite', v.invite) : field({ name: 'invite', label: 'Invitation code', type: 'text', autocomplete: 'off' }));
  }
  if (v.mode === 'captcha' && v.captcha) {
    out.push(
      hidden('captcha_id', v.captcha.id),
      `<img src="data:image/png;base64,${v.captcha.png.toString('base64')}" alt="A picture of characters to type below (a CAPTCHA)">`,
      field({ name: 'captcha', label: 'The characters in the picture', type: 'text', autocomplete: 'off' }),
    );
  }
  out.push('<button type="submit">Create account</button>', '</form>', '<p><a href="/account/login">Already have an account? Log in</a></p>');
  return { title: 'Create an account', body: out.join('\n') };
}
