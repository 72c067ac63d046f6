// Deleting the account: asks the password again and an explicit confirmation.
import { escapeHtml } from '../../../transports/http-kit.ts';
import { field, hidden } from './layout.ts';

export function deletePage(jid: string, csrf: string): { title: string; body: string } {
  return {
    title: 'Delete your account',
    body: [
      `<p>This deletes <strong>${escapeHtml(jid)}</strong> and everything stored for it, at once and for good: contacts, offline messages, settings. Your chat apps will be logged out.</p>`,
      '<form method="post" action="/account/delete">',
      hidden('csrf', csrf),
      field({ name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password' }),
      '<label class="check" for="f-confirm"><input id="f-confirm" name="confirm" type="checkbox" value="yes" required> I understand that my account and its data will be deleted for good.</label>',
      '<button type="submit">Delete my account</button>',
      '</form>',
      '<p><a href="/account">Keep my account</a></p>',
    ].join('\n'),
  };
}
