// Shared by the pubsub.<host> tests: slixmpp's xep_0060 commands of test/interop/slix_driver.py,
// and waiting for a notification from the service.
import type { TestContext } from 'node:test';
import type { TestServer } from '../harness/server.ts';
import { connectSlix, type SlixClient, type SlixStanza } from '../harness/slixmpp.ts';

export const SERVICE = 'pubsub.localhost';
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_OWNER = 'http://jabber.org/protocol/pubsub#owner';

/** A driver reply: 'error' and 'app' when the service refused. */
export type PsReply = { error?: string; app?: string | null; xml: string; [k: string]: unknown };

export async function ps(client: SlixClient, cmd: string, args: Record<string, unknown>): Promise<PsReply> {
  return (await client.command(`pubsub_${cmd}`, { service: SERVICE, ...args })) as unknown as PsReply;
}

/** Passwords of the accounts made here, kept across a restart of the server (a new TestServer). */
const passwords = new Map<string, string>();

/** A slixmpp session closed with `t`, or with `clients` (closed by the suite's after()) when t is undefined. */
export async function slixUser(t: TestContext | undefined, server: TestServer, user: string, resource = 'slix'): Promise<SlixClient> {
  const jid = `${user}@localhost`;
  let password = passwords.get(jid) ?? server.passwords.get(jid);
  if (password === undefined) {
    password = await server.adduser(jid);
    passwords.set(jid, password);
  }
  const client = await connectSlix(t, { jid, password, port: server.ports.c2s_starttls, resource });
  if (!t) clients.push(client);
  // Available, as a client is: headline notifications go to available resources (RFC 6121 §8.5.2.1.1).
  await client.sendPresence();
  return client;
}

export const clients: SlixClient[] = [];

export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}

/** The next message from the service whose XML matches `pattern`. */
export async function notification(client: SlixClient, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const e = (await client.waitFor(
    (ev) => ev.event === 'stanza' && ev.name === 'message' && ev.from === SERVICE && pattern.test(ev.xml),
    timeoutMs,
    `a notification matching ${String(pattern)}`,
  )) as SlixStanza;
  return e.xml;
}
