// Web routes modules serve on the HTTP(S) listeners (web self-service, invite landing pages, file
// upload), next to the operator's policy pages. A route owns a path prefix on one host; a request
// goes to the host its Host header names (a served host or a service domain of it), else to the
// default host. Handlers get Node's request and response as they are, so a large upload can
// stream; src/transports/http-kit.ts has the shared helpers (security headers, bounded bodies,
// forms).
import type http from 'node:http';

export interface HttpRouteRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** The parsed URL (path and query) of the request. */
  url: URL;
  /** The host whose route this is. */
  host: string;
  /** True on an https listener (cookies get Secure). */
  secure: boolean;
  /** The client's address, only for rate limits kept in memory: never log or store it. */
  peerAddress: string | undefined;
}

export type HttpRouteHandler = (r: HttpRouteRequest) => void | Promise<void>;

export interface HttpRouteOptions {
  /**
   * Longest a request may take to arrive, body included, for a route taking large bodies (file
   * upload); the listeners allow the longest any route asks for. Default 15 s.
   */
  requestTimeoutMs?: number;
}

interface Route {
  host: string;
  prefix: string;
  handler: HttpRouteHandler;
  requestTimeoutMs: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export class HttpRoutes {
  readonly #routes: Route[] = [];

  /**
   * Serves every path equal to `prefix` or under `prefix/` on `host`; the returned function
   * removes the route. Two routes of one host can't share a prefix.
   */
  add(host: string, prefix: string, handler: HttpRouteHandler, opts: HttpRouteOptions = {}): () => void {
    if (!prefix.startsWith('/') || prefix.endsWith('/')) throw new Error(`route prefix ${prefix} must start and not end with /`);
    if (this.#routes.some((r) => r.host === host && r.prefix === prefix)) throw new Error(`route ${prefix} is already served on ${host}`);
    const route = { host, prefix, handler, requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS };
    this.#routes.push(route);
    // Longest prefix first.
    this.#routes.sort((a, b) => b.prefix.length - a.prefix.length);
    return () => {
      const i = this.#routes.indexOf(route);
      if (i >= 0) this.#routes.splice(i, 1);
    };
  }

  /** The longest request time any route asks for (what the listeners allow). */
  longestRequestMs(): number {
    return Math.max(DEFAULT_REQUEST_TIMEOUT_MS, ...this.#routes.map((r) => r.requestTimeoutMs));
  }

  /** The route for a path on a host (`hosts`: the candidates, best first). */
  find(path: string, hosts: readonly string[]): Route | undefined {
    for (const host of hosts) {
      const r = this.#routes.find((x) => x.host === host && (path === x.prefix || path.startsWith(x.prefix + '/')));
      if (r) return r;
    }
    return undefined;
  }
}
