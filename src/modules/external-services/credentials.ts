// Time-limited TURN credentials after the "TURN REST API" convention coturn implements
// (use-auth-secret): the user name is the expiry as a Unix timestamp, the password
// base64(HMAC-SHA1(shared secret, user name)). Nothing in them names the user.
import { createHmac } from 'node:crypto';

export interface TurnCredentials {
  username: string;
  password: string;
  /** XEP-0082 DateTime, e.g. 2025-01-31T14:05:00Z. */
  expires: string;
}

export function turnCredentials(secret: string, lifetimeMs: number, now = Date.now()): TurnCredentials {
  const expiry = Math.floor((now + lifetimeMs) / 1000);
  const username = String(expiry);
  return {
    username,
    password: createHmac('sha1', secret).update(username).digest('base64'),
    expires: new Date(expiry * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}
