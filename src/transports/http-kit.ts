// Helpers for module web routes (src/core/http-routes.ts): the same strict headers as the policy
// pages, request bodies read with a size limit, and HTML forms.
import type http from 'node:http';

export interface PageHeaders {
  /** CSP sources ('sha256-…') of inline <style> elements. */
  styleHashes?: readonly string[];
  /** CSP form-action: 'self' lets a page post its forms to itself. */
  formAction?: 'self' | 'none';
  /** CSP img-src additions, e.g. 'data:' for a captcha image inline. */
  imgSrc?: readonly string[];
}

/** Headers on every page: nothing may load from elsewhere, frame it, or be sniffed; no referrer leaks. */
export function securityHeaders(opts: PageHeaders = {}): Record<string, string> {
  const csp = ["default-src 'none'", "base-uri 'none'", `form-action ${opts.formAction === 'self' ? "'self'" : "'none'"}`, "frame-ancestors 'none'"];
  if (opts.styleHashes?.length) csp.push(`style-src ${opts.styleHashes.join(' ')}`);
  if (opts.imgSrc?.length) csp.push(`img-src ${opts.imgSrc.join(' ')}`);
  return {
    'Content-Security-Policy': csp.join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

export class BodyTooLarge extends Error {}
/** The body did not arrive within BODY_DEADLINE_MS (the request is then dropped). */
export class BodyTooSlow extends Error {}

/**
 * A small body must arrive this fast, whatever the listener allows (it allows longer while a
 * module serves large uploads), so slow senders can't hold sockets.
 */
export const BODY_DEADLINE_MS = 15_000;

/** Reads a request body of at most `max` bytes; a larger one rejects with BodyTooLarge (answer 413). */
export function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(deadline);
      reject(err);
    };
    const deadline = setTimeout(() => {
      req.destroy();
      fail(new BodyTooSlow());
    }, BODY_DEADLINE_MS);
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      fail(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.destroy();
        fail(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(deadline);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', fail);
  });
}

/** An application/x-www-form-urlencoded body (at most `max` bytes) as fields; repeated names keep the first. */
export async function readForm(req: http.IncomingMessage, max = 16 * 1024): Promise<Map<string, string>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return new Map();
  const fields = new Map<string, string>();
  for (const [k, v] of new URLSearchParams((await readBody(req, max)).toString('utf8'))) if (!fields.has(k)) fields.set(k, v);
  return fields;
}

/** Sends a complete response with the security headers; HEAD gets the headers only. */
export function sendPage(res: http.ServerResponse, status: number, contentType: string, body: string | Uint8Array, headers: Record<string, string> = {}, page: PageHeaders = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    ...securityHeaders(page),
    'Content-Type': contentType,
    'Content-Length': String(bytes.byteLength),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
