// Contacts made the RFC 6121 way by stock clients: a subscription request each way, each answered.
import { match, xml, type Element, type TestClient } from './client.ts';
import { eventually } from './eventually.ts';

/** The client's roster item for `jid`, as a roster get returns it. */
export async function rosterItem(c: TestClient, jid: string): Promise<Element | undefined> {
  const q = await c.iqGet(xml('query', 'jabber:iq:roster'));
  return q.getChildren('item').find((i) => i.attrs['jid'] === jid);
}

/** a and b subscribe to each other's presence (both answer the request). */
export async function befriend(a: TestClient, aJid: string, b: TestClient, bJid: string): Promise<void> {
  for (const [from, to, toJid, fromJid] of [[a, b, bJid, aJid], [b, a, aJid, bJid]] as const) {
    await from.send(xml('presence', { to: toJid, type: 'subscribe' }));
    await to.waitFor(match.presence(fromJid, 'subscribe'));
    await to.send(xml('presence', { to: fromJid, type: 'subscribed' }));
  }
  await eventually(async () => (await rosterItem(a, bJid))?.attrs['subscription'], 'both', `a's subscription to ${bJid}`);
  await eventually(async () => (await rosterItem(b, aJid))?.attrs['subscription'], 'both', `b's subscription to ${aJid}`);
}
