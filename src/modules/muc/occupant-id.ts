// XEP-0421: a stable, opaque id per (room, real bare JID). A keyed hash under a secret kept in a
// sealed store, so nobody without it can link an id back to an address; nothing stores JIDs in clear.
import { createHmac, randomBytes } from 'node:crypto';
import type { KeyValueStore } from '../../core/storage.ts';

export type OccupantIdFn = (room: string, realBareJid: string) => string;

// Keyed 'muc:occupant-id': never an account name (no ':' in localparts), so no account's deletion
// or export reaches it.
const KEY = 'muc:occupant-id';

/** Loads the service's secret, creating it on first start. */
export async function occupantIds(store: KeyValueStore<string>): Promise<OccupantIdFn> {
  let secret = await store.get(KEY);
  if (!secret) {
    secret = randomBytes(32).toString('base64');
    await store.set(KEY, secret);
  }
  const key = Buffer.from(secret, 'base64');
  return (room, realBareJid) => createHmac('sha256', key).update(`muc-occupant\0${room}\0${realBareJid}`).digest('base64url').slice(0, 24);
}
