// The web side of XEP-0363 (§6): PUT into a slot, GET/HEAD of stored files with ranges
// (RFC 9110 §14), CORS for web clients. Nothing about a request is logged: not its path, not its
// address.
import type http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HttpRouteHandler } from '../../core/http-routes.ts';
import type { FileStore, StoredFile } from './file-store.ts';
import { SealedFileError } from './sealed-file.ts';
import type { Slots } from './slots.ts';

export const ROUTE = '/upload';

/** Types a browser may show inline (no scripts): everything else comes as a download. */
const INLINE = /^(image\/(png|jpeg|gif|webp|avif|bmp)|audio\/[\w.+-]+|video\/[\w.+-]+|text\/plain)$/;
/** A media type as served: `type/subtype` with an optional charset, else octet-stream. */
const SAFE_TYPE = /^[a-z0-9][\w.+-]*\/[a-z0-9][\w.+-]*(;\s*charset=[\w-]+)?$/;
/** Media elements need their own origin as a source; nothing else may load, and the page is sandboxed. */
const CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Content-Disposition, Accept-Ranges, ETag',
};

export interface UploadHttpDeps {
  slots: Slots;
  files: FileStore;
  maxFileSize: number;
  /** Errors without the request's path or address. */
  logError(err: unknown): void;
}

function plain(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, {
    ...CORS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CSP,
    'Referrer-Policy': 'no-referrer',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** The link token of /upload/<token>/<name>; the name is only for people and is not checked. */
function tokenOf(path: string): string | undefined {
  const m = /^\/upload\/([A-Za-z0-9_-]{43,})\/[^/]+$/.exec(path);
  return m?.[1];
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** RFC 6266 §4.3: an ASCII fallback and the exact name as RFC 8187 filename*. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const ext = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${ext}`;
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/** RFC 9110 §14.2: one byte range, or undefined for the whole file (no, bad or several ranges). */
export function parseRange(header: string | undefined, size: number): Range {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export function uploadHandler(deps: UploadHttpDeps): HttpRouteHandler {
  async function put(req: http.IncomingMessage, res: http.ServerResponse, token: string): Promise<void> {
    // A refused PUT's body is not read: the connection closes rather than drain it.
    const refuse = (status: number, text: string) => plain(res, status, text, { Connection: 'close' });
    if (deps.slots.isUploading(token) || (await deps.files.get(token))) return refuse(409, 'This slot was already used.');
    const slot = deps.slots.peek(token);
    if (!slot) return refuse(404, 'No such upload slot (it may have expired).');
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) return refuse(411, 'Content-Length is required.');
    const length = Number(lengthHeader);
    if (length > deps.maxFileSize || length > slot.size) return refuse(413, 'The body is larger than the slot.');
    if (length !== slot.size) return refuse(400, 'Content-Length is not the size the slot was requested for.');
    if (slot.type !== '' && mediaType(req.headers['content-type']) !== mediaType(slot.type)) {
      return refuse(415, 'Content-Type is not the type the slot was requested for.');
    }
    if (!deps.slots.take(token)) return refuse(409, 'This slot was already used.');
    try {
      await deps.files.add(token, { owner: slot.owner, name: slot.name, size: slot.size, type: slot.type || 'application/octet-stream' }, req);
      plain(res, 201, 'Stored.');
    } catch (err) {
      if (err instanceof SealedFileError) refuse(400, 'The body does not have the announced size.');
      else throw err;
    } finally {
      deps.slots.done(token);
    }
  }

  async function get(req: http.IncomingMessage, res: http.ServerResponse, file: StoredFile): Promise<void> {
    const type = SAFE_TYPE.test(file.type) ? file.type : 'application/octet-stream';
    const inline = INLINE.test(mediaType(type));
    // The bytes at a link never change: upload time and size name this version (and reveal nothing else).
    const etag = `"${Date.parse(file.created).toString(36)}-${file.size.toString(36)}"`;
    const headers: Record<string, string> = {
      ...CORS,
      ETag: etag,
      'Content-Type': type,
      'Content-Disposition': contentDisposition(inline ? 'inline' : 'attachment', file.name),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': CSP,
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'cross-origin',
      // The content at a link never changes; only the browser keeps it (no shared caches).
      'Cache-Control': 'private, max-age=86400, immutable',
      'Last-Modified': new Date(file.created).toUTCString(),
      'Accept-Ranges': 'bytes',
    };
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && (ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    // RFC 9110 §13.1.5: a range only applies to the version the client names in If-Range.
    const ifRange = req.headers['if-range'];
    const rangeApplies = ifRange === undefined || ifRange === etag || ifRange === headers['Last-Modified'];
    const range = rangeApplies ? parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, file.size) : undefined;
    if (range === 'unsatisfiable') return plain(res, 416, 'Range Not Satisfiable', { 'Content-Range': `bytes */${file.size}` });
    const start = range ? range.start : 0;
    const end = range ? range.end : file.size - 1;
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'Content-Length': String(end - start + 1),
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
    });
    if (req.method === 'HEAD' || file.size === 0) {
      res.end();
      return;
    }
    await pipeline(Readable.from(deps.files.read(file, start, end)), res);
  }

  return async ({ req, res, url }) => {
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          ...CORS,
          'Access-Control-Allow-Methods': 'PUT, GET, HEAD, OPTIONS',
          'Access-Control-Allow-Headers': 'Content-Type, Authorization, Range',
          'Access-Control-Max-Age': '86400',
          Allow: 'PUT, GET, HEAD, OPTIONS',
        });
        res.end();
        return;
      }
      const token = tokenOf(url.pathname);
      if (!token) return plain(res, 404, 'Not Found');
      if (req.method === 'PUT') return await put(req, res, token);
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method Not Allowed', { Allow: 'PUT, GET, HEAD, OPTIONS' });
      const file = await deps.files.get(token);
      if (!file) return plain(res, 404, 'Not Found');
      await get(req, res, file);
    } catch (err) {
      // A client that went away (a cancelled download or upload) is no error of ours.
      if (req.destroyed || res.destroyed) {
        res.destroy();
        return;
      }
      deps.logError(err);
      if (!res.headersSent) plain(res, 500, 'The file could not be served.');
      else res.destroy();
    }
  };
}
