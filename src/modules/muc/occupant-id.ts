// XEP-0421: a stable, opaque id per (room, real bare JID). A keyed hash under a secret kept in a
// sealed store, so nobody without it can link an id back to an address; nothing stores JIDs in clear.
import { createHmac, randomBytes } from 'node:crypto';
import type { KeyValueStore } from '../../core/storage.ts';

export type OccupantIdFn = (room: string, realBareJid: string) => string;

/** Loads the service's secret, creating it on first start. */
export async function occupantIds(store: KeyValueStore<string>): Promise<OccupantIdFn> {
  let secret = await store.get('occupant-id');
  if (!secret) {
    secret = randomBytes(32).toString('base64');
    await store.set('occupant-id', secret);
  }
  const key = Buffer.from(secret, 'base64');
  return (room, realBareJid) => createHmac('sha256', key).update(`muc-occupant\0${room}\0${realBareJid}`).digest('base64url').slice(0, 24);
}
