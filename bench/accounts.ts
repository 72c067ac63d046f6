// Benchmark accounts: names, passwords and SCRAM-SHA-1 credentials (RFC 5802 §3: salt,
// iteration count, StoredKey, ServerKey) computed once per run and written straight into the
// account tables of Prosody and ejabberd, so thousands of accounts exist in seconds.
import { randomUUID } from 'node:crypto';
import { deriveKeysAsync } from './scram-client.ts';

/**
 * Accounts u0…u(n-1) carry the idle, chat and login scenarios; f0…f(g-1) the presence fan-out;
 * p0…p(n-1) the PEP ring.
 */
export const idleUser = (i: number): string => `u${i}`;
export const fanUser = (i: number): string => `f${i}`;
export const pepUser = (i: number): string => `p${i}`;

/**
 * Rosters that exist before the measurements, the same on every server (RFC 6121 §2.1):
 * idle user i has the next `idleSize` idle users (wrapping at `idleUsers`), named "Contact k",
 * subscription none; the fan-out users f0…f(clique-1) all have each other, subscription both.
 */
export interface RosterPlan {
  idleUsers: number;
  idleSize: number;
  clique: number;
  /** The PEP users p0…p(ring-1), each with its `ringSize` nearest neighbours on the ring as "both" contacts. */
  ring: number;
  ringSize: number;
}
export const rosterContact = (i: number, k: number, pool: number): string => idleUser((i + k) % pool);

/**
 * Member i's contacts in a group of `group`: everyone else (ringSize 0, the clique), or the
 * ringSize/2 neighbours on each side of a ring (everyone else when the ring is that small).
 */
export function groupContacts(i: number, group: number, ringSize = 0): number[] {
  const out = new Set<number>();
  if (ringSize <= 0 || ringSize >= group - 1) {
    for (let j = 0; j < group; j++) if (j !== i) out.add(j);
  } else {
    for (let d = 1; d <= Math.ceil(ringSize / 2); d++) {
      out.add((i + d) % group);
      if (out.size < ringSize) out.add((i - d + group) % group);
    }
  }
  return [...out];
}

/** Every planned "both" roster (clique and ring), as user and contact names. */
export function mutualRosters(plan: RosterPlan): Array<{ user: string; contacts: string[] }> {
  const out: Array<{ user: string; contacts: string[] }> = [];
  for (let i = 0; i < plan.clique; i++) out.push({ user: fanUser(i), contacts: groupContacts(i, plan.clique).map(fanUser) });
  for (let i = 0; i < plan.ring; i++) out.push({ user: pepUser(i), contacts: groupContacts(i, plan.ring, plan.ringSize).map(pepUser) });
  return out;
}

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

export function accountNames(idleCount: number, fanCount: number, pepCount = 0): string[] {
  const names: string[] = [];
  for (let i = 0; i < idleCount; i++) names.push(idleUser(i));
  for (let i = 0; i < fanCount; i++) names.push(fanUser(i));
  for (let i = 0; i < pepCount; i++) names.push(pepUser(i));
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
