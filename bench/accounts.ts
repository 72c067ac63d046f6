// Benchmark accounts: names, passwords and SCRAM-SHA-1 credentials (RFC 5802 §3: salt,
// iteration count, StoredKey, ServerKey) computed once per run and written straight into the
// account tables of Prosody and ejabberd, so thousands of accounts exist in seconds.
import { randomUUID } from 'node:crypto';
import { deriveKeysAsync } from './scram-client.ts';

/** Accounts u0…u(n-1) carry the idle, chat and login scenarios; f0…f(g-1) the presence fan-out. */
export const idleUser = (i: number): string => `u${i}`;
export const fanUser = (i: number): string => `f${i}`;

/**
 * Rosters that exist before the measurements, the same on every server (RFC 6121 §2.1):
 * idle user i has the next `idleSize` idle users (wrapping at `idleUsers`), named "Contact k",
 * subscription none; the fan-out users f0…f(clique-1) all have each other, subscription both.
 */
export interface RosterPlan {
  idleUsers: number;
  idleSize: number;
  clique: number;
}
export const rosterContact = (i: number, k: number, pool: number): string => idleUser((i + k) % pool);

/** Fake, deterministic passwords: the generator derives them from the name, nothing is stored. */
export const passwordOf = (user: string): string => `bench-${user}-pw`;

export interface Credential {
  user: string;
  password: string;
  /** Printable salt (a UUID, as Prosody makes them), used as raw salt bytes by both servers. */
  salt: string;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function accountNames(idleCount: number, fanCount: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < idleCount; i++) names.push(idleUser(i));
  for (let i = 0; i < fanCount; i++) names.push(fanUser(i));
  return names;
}

/** PBKDF2 for every account on the libuv pool, a few at a time. */
export async function computeCredentials(users: string[], iterations: number, parallel = 8): Promise<Credential[]> {
  const out = new Array<Credential>(users.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < users.length; i = next++) {
      const user = users[i] as string;
      const password = passwordOf(user);
      const salt = randomUUID();
      const k = await deriveKeysAsync(password, Buffer.from(salt), iterations);
      out[i] = { user, password, salt, iterations, storedKey: k.storedKey, serverKey: k.serverKey };
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}
