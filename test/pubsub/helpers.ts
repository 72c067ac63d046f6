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

export async function slixUser(t: TestContext, server: TestServer, user: string, resource = 'slix'): Promise<SlixClient> {
  const jid = `${user}@localhost`;
  const password = server.passwords.get(jid) ?? (await server.adduser(jid));
  return connectSlix(t, { jid, password, port: server.ports.c2s_starttls, resource });
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
