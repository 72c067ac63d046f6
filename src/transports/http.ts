// A small HTTP/1.1 listener (RFC 9110, RFC 9112) for the operator's public pages (/terms,
// /privacy): GET and HEAD only, strict security headers, and no access log at all: a request
// line or a client address is never logged or kept. Blocked peers are refused on 'connection',
// before a byte is read (and, for https, before the TLS handshake), like the client listeners.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { AdmitPeer, TlsSetup } from './tcp.ts';
import { bindListener, type Listener } from './listen.ts';
import { securityHeaders } from './http-kit.ts';
import type { HttpRouteHandler, HttpRouteRequest } from '../core/http-routes.ts';

export interface HttpPage {
  contentType: string;
  body: string | Uint8Array;
  /** CSP sources ('sha256-…') of the page's inline <style> elements. */
  styleHashes?: readonly string[];
}

/** The page at a path (without the query), or undefined for 404. Called per request, so pages follow the running state. */
export type PageSource = (path: string) => HttpPage | undefined;

/** A module's web route for a path on the host the Host header names (src/core/http-routes.ts), or undefined. */
export type RouteSource = (path: string, hostHeader: string | undefined) => { host: string; handler: HttpRouteHandler } | undefined;

export interface HttpListenOptions {
  port: number;
  address: string;
  /** Serve HTTPS with these certificates (the same setup as the client listeners). */
  tls?: TlsSetup;
  /** A page source that throws answers 500; the error (never the request) goes here. */
  onError?: (err: unknown) => void;
  /** Module routes, tried before the pages; they take any method. */
  routes?: RouteSource;
  /**
   * Longest a request may take to arrive, body included (default 15 s): longer only for routes
   * that take large bodies (file upload); readBody keeps 15 s for every other body.
   */
  requestTimeoutMs?: number;
}

const ALLOW = 'GET, HEAD';

function send(res: http.ServerResponse, status: number, head: boolean, page: HttpPage, extra: Record<string, string> = {}): void {
  const body = typeof page.body === 'string' ? Buffer.from(page.body, 'utf8') : page.body;
  res.writeHead(status, {
    ...securityHeaders({ styleHashes: page.styleHashes ?? [] }),
    'Content-Type': page.contentType,
    'Content-Length': String(body.byteLength),
    // The pages change with the configuration: always revalidate.
    'Cache-Control': 'no-cache',
    ...extra,
  });
  res.end(head ? undefined : body);
}

const plain = (text: string): HttpPage => ({ contentType: 'text/plain; charset=utf-8', body: `${text}\n` });

function handle(req: http.IncomingMessage, res: http.ServerResponse, pages: PageSource, opts: HttpListenOptions): void {
  const onError = opts.onError;
  const method = req.method ?? '';
  const head = method === 'HEAD';
  // RFC 9112 §3.2: more than one Host line is a 400 (Node itself only rejects a missing one).
  if ((req.headersDistinct['host']?.length ?? 0) > 1) {
    send(res, 400, head, plain('Bad request'));
    return;
  }
  if (opts.routes) {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      send(res, 400, head, plain('Bad request'));
      return;
    }
    const route = opts.routes(url.pathname, req.headers.host);
    if (route) {
      const r: HttpRouteRequest = { req, res, url, host: route.host, secure: opts.tls !== undefined, peerAddress: req.socket.remoteAddress };
      const failed = (err: unknown) => {
        onError?.(err);
        if (!res.headersSent) send(res, 500, head, plain('Internal server error'));
        else res.destroy();
      };
      try {
        const p = route.handler(r);
        if (p) p.catch(failed);
      } catch (err) {
        failed(err);
      }
      return;
    }
  }
  if (method !== 'GET' && !head) {
    send(res, 405, false, plain('Method not allowed'), { Allow: ALLOW });
    return;
  }
  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    send(res, 400, head, plain('Bad request'));
    return;
  }
  let page: HttpPage | undefined;
  try {
    page = pages(path);
  } catch (err) {
    onError?.(err);
    send(res, 500, head, plain('Internal server error'));
    return;
  }
  if (!page) send(res, 404, head, plain('Not found'));
  else send(res, 200, head, page);
}

/** Answers a malformed or too slow request without logging it; a broken socket is just closed. */
function onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * CONNECT (RFC 9110 §9.3.6) is not served here. Without a 'connect' listener Node destroys the socket
 * without any answer; this one says 405 like for every other method and closes.
 */
function onConnect(_req: http.IncomingMessage, socket: Duplex): void {
  const headers = { ...securityHeaders(), Allow: ALLOW, Connection: 'close', 'Content-Length': '0' };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 405 Method Not Allowed\r\n${lines.join('')}\r\n`);
}

/** An HTTP(S) listener; refreshTls() makes new HTTPS connections use opts.tls as it is now (after a reload). */
export interface HttpListener extends Listener {
  refreshTls(): void;
}

/** Listens for HTTP (or HTTPS with opts.tls); `admit` decides on each connection before anything is read. */
export async function listenHttp(opts: HttpListenOptions, admit: AdmitPeer, pages: PageSource): Promise<HttpListener> {
  const serverOptions: http.ServerOptions = {
    // Small pages: short limits keep idle or slow clients from holding sockets.
    headersTimeout: 10_000,
    requestTimeout: opts.requestTimeoutMs ?? 15_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 8 * 1024,
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => handle(req, res, pages, opts);
  const tlsSetup = opts.tls;
  // SNI goes through the setup as it is at each handshake, so a reload reaches it too.
  const server = tlsSetup
    ? https.createServer({ ...tlsSetup.options, secureContext: tlsSetup.secureContext, SNICallback: (name, cb) => (tlsSetup.options.SNICallback ?? ((_n, done) => done(null, tlsSetup.secureContext)))(name, cb), ...serverOptions }, onRequest)
    : http.createServer(serverOptions, onRequest);
  server.maxRequestsPerSocket = 100;
  server.maxConnections = 1000;
  const open = new Set<net.Socket>();
  // First listener: a blocked peer is gone before the HTTP parser or the TLS layer sees it.
  server.prependListener('connection', (socket: net.Socket) => {
    if (!admit(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.on('clientError', onClientError);
  server.on('connect', onConnect);
  if (opts.tls) server.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy());
  // Requests in flight get a moment to finish; idle keep-alive connections go at once.
  const listener = await bindListener(server, opts, open, () => server.closeIdleConnections());
  return {
    ...listener,
    get port() {
      return listener.port;
    },
    // Clients without SNI get the default context, which only setSecureContext replaces.
    refreshTls: () => {
      if (tlsSetup && server instanceof https.Server) server.setSecureContext(tlsSetup.options);
    },
  };
}
