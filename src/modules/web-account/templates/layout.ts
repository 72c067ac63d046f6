// The frame of every self-service page: one inline stylesheet allowed by its CSP hash, no script,
// no asset from anywhere, the service's name, and a notice or error where an action reports back.
import { createHash } from 'node:crypto';
import { escapeHtml } from '../../../transports/http-kit.ts';

export const ACCOUNT_CSS =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1d1d1d;background:#fff}' +
  'h1{font-size:1.6rem;line-height:1.2}h2{font-size:1.15rem;margin-top:2rem}' +
  'label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password],input[type=email]{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}' +
  'label.check{display:flex;gap:.5rem;align-items:flex-start}' +
  'button{margin-top:1rem;padding:.45rem 1rem;font:inherit;cursor:pointer}form.inline{display:inline}' +
  '.notice{padding:.6rem;border-left:4px solid #2a7;background:#eef8f1}.error{padding:.6rem;border-left:4px solid #c33;background:#fbeeee}' +
  '.service{font-weight:600;margin:0}footer{margin-top:3rem;padding-top:1rem;border-top:1px solid #ccc;font-size:.9rem}' +
  '@media (prefers-color-scheme:dark){body{color:#ddd;background:#151515}a{color:#8cf}.notice{background:#17301f}.error{background:#3a1818}}';

/** CSP source of the stylesheet, so no 'unsafe-inline' is needed. */
export const ACCOUNT_STYLE_HASH = `'sha256-${createHash('sha256').update(ACCOUNT_CSS).digest('base64')}'`;

export interface PageFrame {
  service: string;
  title: string;
  /** Trusted HTML: built by the templates, every value escaped. */
  body: string;
  notice?: string;
  error?: string;
}

export function layout(p: PageFrame): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(p.title)} · ${escapeHtml(p.service)}</title>`,
    `<style>${ACCOUNT_CSS}</style>`,
    '</head>',
    '<body>',
    `<header><p class="service">${escapeHtml(p.service)}</p></header>`,
    '<main>',
    `<h1>${escapeHtml(p.title)}</h1>`,
    p.notice ? `<p class="notice" role="status">${escapeHtml(p.notice)}</p>` : '',
    p.error ? `<p class="error" role="alert">${escapeHtml(p.error)}</p>` : '',
    p.body,
    '</main>',
    '<footer><a href="/privacy">Privacy policy</a> · <a href="/terms">Terms of service</a></footer>',
    '</body>',
    '</html>',
    '',
  ].filter((l) => l !== '').join('\n');
}

/** A labelled input. */
export function field(f: { name: string; label: string; type: 'text' | 'password' | 'email'; autocomplete: string; value?: string; required?: boolean; hint?: string }): string {
  const id = `f-${f.name}`;
  const hint = f.hint ? ` aria-describedby="${id}-hint"` : '';
  return [
    `<label for="${id}">${escapeHtml(f.label)}</label>`,
    `<input id="${id}" name="${escapeHtml(f.name)}" type="${f.type}" autocomplete="${escapeHtml(f.autocomplete)}"${f.value !== undefined ? ` value="${escapeHtml(f.value)}"` : ''}${f.required === false ? '' : ' required'}${hint}>`,
    f.hint ? `<small id="${id}-hint">${escapeHtml(f.hint)}</small>` : '',
  ].filter((l) => l !== '').join('\n');
}

export function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}
