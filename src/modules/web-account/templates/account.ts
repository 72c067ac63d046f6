// The account page of a logged-in user: change the password, set or remove the e-mail address,
// download the data, delete the account, log out.
import { escapeHtml } from '../../../transports/http-kit.ts';
import { field, hidden } from './layout.ts';

export interface AccountView {
  jid: string;
  csrf: string;
  /** undefined: the email module is not enabled, so the section is left out. */
  email: { address: string | undefined } | undefined;
  passwordHint: string;
}

export function accountPage(v: AccountView): { title: string; body: string } {
  const csrf = hidden('csrf', v.csrf);
  const out = [
    `<p>Logged in as <strong>${escapeHtml(v.jid)}</strong>.</p>`,
    '<form method="post" action="/account/logout" class="inline">', csrf, '<button type="submit">Log out</button>', '</form>',
    '<h2 id="password">Change your password</h2>',
    '<form method="post" action="/account/password" aria-labelledby="password">',
    csrf,
    field({ name: 'current', label: 'Current password', type: 'password', autocomplete: 'current-password' }),
    field({ name: 'new', label: 'New password', type: 'password', autocomplete: 'new-password', hint: v.passwordHint }),
    field({ name: 'confirm', label: 'New password again', type: 'password', autocomplete: 'new-password' }),
    '<button type="submit">Change password</button>',
    '</form>',
  ];
  if (v.email) {
    const current = v.email.address;
    out.push(
      '<h2 id="email">E-mail address for password reset</h2>',
      '<p>Only used to send you a link if you forget your password. Without one, a forgotten password can\'t be reset.</p>',
      current ? `<p>On file: <strong>${escapeHtml(current)}</strong></p>` : '<p>No e-mail address is on file.</p>',
      '<form method="post" action="/account/email" aria-labelledby="email">',
      csrf,
      field({ name: 'email', label: current ? 'New e-mail address' : 'E-mail address', type: 'email', autocomplete: 'email' }),
      // Whoever sets the address can reset the password: a borrowed session alone must not do it.
      field({ name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password' }),
      '<button type="submit" name="action" value="set">Save e-mail address</button>',
      '</form>',
    );
    if (current) out.push('<form method="post" action="/account/email">', csrf, hidden('action', 'remove'), '<button type="submit">Remove e-mail address</button>', '</form>');
  }
  out.push(
    '<h2>Your data</h2>',
    '<p><a href="/account/export" download>Download everything stored for your account</a> (an XML file in the XEP-0227 format, which other servers can import).</p>',
    '<h2>Delete your account</h2>',
    '<p><a href="/account/delete">Delete your account and everything stored for it</a>.</p>',
  );
  return { title: 'Your account', body: out.join('\n') };
}
