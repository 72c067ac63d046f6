// The invite landing page (XEP-0401 §6): what the invite is, the button that opens it in a
// client, and clients to install first. Nothing loads from elsewhere (strict CSP, inline style
// allowed by its hash only); an unknown or expired token gets a readable 404.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { escapeHtml, sendPage } from '../../transports/http-kit.ts';

const STYLE = [
  'body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5;color:#222}',
  'a.open{display:inline-block;padding:.6em 1.2em;background:#1a6b3c;color:#fff;border-radius:.3em;text-decoration:none;font-weight:bold}',
  'code{word-break:break-all;background:#f3f3f3;padding:.1em .3em}',
  'dt{font-weight:bold;margin-top:.6em}',
].join('');
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** A few well-known free clients per platform (names and project pages only: no assets). */
export const CLIENTS: readonly { platform: string; clients: readonly { name: string; url: string }[] }[] = [
  { platform: 'Android', clients: [{ name: 'Conversations', url: 'https://conversations.im/' }, { name: 'Cheogram', url: 'https://cheogram.com/' }] },
  { platform: 'iOS', clients: [{ name: 'Monal', url: 'https://monal-im.org/' }, { name: 'Siskin IM', url: 'https://siskin.im/' }] },
  { platform: 'Desktop (Linux, Windows, macOS)', clients: [{ name: 'Gajim', url: 'https://gajim.org/' }, { name: 'Dino', url: 'https://dino.im/' }] },
  { platform: 'Web', clients: [{ name: 'Converse.js', url: 'https://conversejs.org/' }] },
];

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

export interface InviteView {
  host: string;
  /** The inviter's address for a contact invite. */
  inviter: string | undefined;
  uri: string;
  expires: Date;
  /** The invite creates an account (an account invite, or a contact invite with ibr=y). */
  createsAccount: boolean;
}

export function sendInvitePage(res: ServerResponse, v: InviteView): void {
  const title = v.inviter ? `${v.inviter} invites you to chat` : `You are invited to ${v.host}`;
  const what = v.inviter
    ? `<p><strong>${escapeHtml(v.inviter)}</strong> would like to add you as a contact on XMPP, the open chat network.${v.createsAccount ? ` This invite also lets you create your own account on <strong>${escapeHtml(v.host)}</strong>.` : ''}</p>`
    : `<p>This invite lets you create an account on <strong>${escapeHtml(v.host)}</strong>, a chat service on XMPP, the open chat network.</p>`;
  const clients = CLIENTS.map((p) => `<dt>${escapeHtml(p.platform)}</dt><dd>${p.clients.map((c) => `<a href="${escapeHtml(c.url)}" rel="noreferrer">${escapeHtml(c.name)}</a>`).join(', ')}</dd>`).join('');
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    what,
    `<p><a class="open" href="${escapeHtml(v.uri)}">Open the invite in your chat app</a></p>`,
    '<h2>No chat app yet?</h2>',
    '<p>Install one of these, then come back to this page and press the button above (or copy the address below into the app):</p>',
    `<dl>${clients}</dl>`,
    `<p>Invite address: <code>${escapeHtml(v.uri)}</code></p>`,
    `<p>This invite is valid until ${escapeHtml(v.expires.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}${v.createsAccount ? ' and creates one account' : ''}.</p>`,
  ].join('\n');
  sendPage(res, 200, 'text/html; charset=utf-8', page(title, body), {}, { styleHashes: [STYLE_HASH] });
}

export function sendUnknownInvitePage(res: ServerResponse, host: string): void {
  const body = `<h1>Invite not found</h1>\n<p>This invite to ${escapeHtml(host)} does not exist, has expired or has been used already. Ask the person who sent it for a new one.</p>`;
  sendPage(res, 404, 'text/html; charset=utf-8', page('Invite not found', body), {}, { styleHashes: [STYLE_HASH] });
}
