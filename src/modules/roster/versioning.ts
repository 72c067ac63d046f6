// XEP-0237 Roster Versioning: the opaque 'ver' string of a roster.
// A random epoch per roster plus a counter: a counter alone would let a client that cached
// "ver 5" of a deleted account believe it is current for a new account of the same name.
import { randomBytes } from 'node:crypto';

export type RosterMeta = { epoch: string; counter: number };

export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** The meta after one more change (a fresh epoch for a roster that had none). */
export function nextMeta(meta: RosterMeta | undefined): RosterMeta {
  return meta ? { epoch: meta.epoch, counter: meta.counter + 1 } : { epoch: newEpoch(), counter: 1 };
}

/** The 'ver' string; an empty roster that never changed has the version "empty". */
export function formatVer(meta: RosterMeta | undefined): string {
  return meta ? `${meta.epoch}-${meta.counter}` : 'empty';
}

/**
 * XEP-0237 §2.3: the result may be empty only when the client's cached version is exactly the
 * current one; anything else (unknown, older, from an earlier account) gets the full roster.
 */
export function isCurrent(clientVer: string | undefined, meta: RosterMeta | undefined): boolean {
  return clientVer !== undefined && clientVer !== '' && clientVer === formatVer(meta);
}
