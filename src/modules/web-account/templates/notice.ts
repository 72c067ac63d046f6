// A page that only says something, with a way on.
import { escapeHtml } from '../../../transports/http-kit.ts';

export function noticePage(title: string, text: string, link: { href: string; text: string } = { href: '/account/login', text: 'Log in' }): { title: string; body: string } {
  return { title, body: `<p>${escapeHtml(text)}</p>\n<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` };
}
