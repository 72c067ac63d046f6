// Cross-site request forgery, second line (the first is the per-session token in every form): a
// browser says where a POST comes from (Sec-Fetch-Site, Origin); anything but this very origin is
// refused. Clients that send neither header (not a browser) still need the token.
import type http from 'node:http';

export function fromThisOrigin(req: http.IncomingMessage, secure: boolean): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}
