// Answers of the self-service pages: HTML with the strict headers (the stylesheet by hash, forms
// to this origin only), redirects, and the plain refusals.
import type { HttpRouteRequest } from '../../core/http-routes.ts';
import { sendPage } from '../../transports/http-kit.ts';
import { ACCOUNT_STYLE_HASH, layout } from './templates/layout.ts';

const HTML = 'text/html; charset=utf-8';

/**
 * Instead of no-referrer: a browser then sends this origin in the Origin header of the page's own
 * form posts (with no-referrer it sends "null", indistinguishable from a foreign sandboxed page),
 * and still nothing to any other site.
 */
const REFERRER = { 'Referrer-Policy': 'same-origin' };

export interface Rendered {
  title: string;
  body: string;
}

export function render(r: HttpRouteRequest, service: string, page: Rendered, opts: { status?: number; notice?: string; error?: string; headers?: Record<string, string>; images?: boolean } = {}): void {
  const html = layout({ service, title: page.title, body: page.body, ...(opts.notice ? { notice: opts.notice } : {}), ...(opts.error ? { error: opts.error } : {}) });
  sendPage(r.res, opts.status ?? 200, HTML, html, { ...REFERRER, ...opts.headers }, { styleHashes: [ACCOUNT_STYLE_HASH], formAction: 'self', ...(opts.images ? { imgSrc: ['data:'] } : {}) });
}

/** 303: after a POST the browser fetches the target with GET. */
export function redirect(r: HttpRouteRequest, location: string, headers: Record<string, string> = {}): void {
  sendPage(r.res, 303, 'text/plain; charset=utf-8', '', { Location: location, ...headers });
}

export function plain(r: HttpRouteRequest, status: number, text: string, headers: Record<string, string> = {}): void {
  sendPage(r.res, status, 'text/plain; charset=utf-8', `${text}\n`, headers);
}
