// The session cookie (RFC 6265bis): HttpOnly, SameSite=Strict; on https also Secure with the
// __Host- prefix, which binds it to this very origin (no Domain, Path=/).

export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-jabberx-account' : 'jabberx-account';
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for the session id; an empty id clears the cookie. */
export function sessionCookie(secure: boolean, id: string): string {
  const attrs = [`${sessionCookieName(secure)}=${id}`, secure ? 'Path=/' : 'Path=/account', 'HttpOnly', 'SameSite=Strict'];
  if (secure) attrs.push('Secure');
  if (id === '') attrs.push('Max-Age=0');
  return attrs.join('; ');
}
