// XEP-0060 §7-§8 event notifications of the pubsub.<host> service: the engine reports what
// happened, this decides who hears it (the node's notify_* settings, the subscribers who may
// still read the node) and routes the engine's notification messages.
import { randomUUID } from 'node:crypto';
import { parseJid, type Jid } from '../../core/jid.ts';
import type { Element } from '../../core/xml/element.ts';
import type { PubsubEngine, PubsubEvent } from '../../lib/pubsub/api.ts';
import { notificationMessage } from '../../lib/pubsub/event.ts';

/** Whether the node's configuration asks for this notification at all. */
export function isNotified(event: PubsubEvent): boolean {
  const c = event.config;
  switch (event.kind) {
    case 'published':
    case 'last':
      // §7.1.2.1 (deliver_payloads decides only whether the payload goes along, §7.1.2.2).
      return c.deliverNotifications;
    case 'retracted':
      // §7.2.2.1.
      return c.deliverNotifications && c.notifyRetract;
    case 'purged':
      // §8.5.2: a purge is a retraction of everything.
      return c.notifyRetract;
    case 'deleted':
      return c.notifyDelete;
    case 'configured':
      return c.notifyConfig;
  }
}

/**
 * Routes the event to each subscriber the access model still lets in (a presence subscription can
 * have ended since), once per JID; the last item goes to its new subscriber only. Deletions and
 * purges reach every subscriber: nothing is left to read.
 */
export async function notify(engine: PubsubEngine, domain: string, maxItems: number, event: PubsubEvent, route: (stanza: Element) => Promise<void>): Promise<void> {
  if (!isNotified(event)) return;
  const recipients = event.kind === 'last' ? [event.to.toString()] : [...new Set(event.subscribers)];
  const readers = event.kind === 'published' || event.kind === 'last' || event.kind === 'retracted';
  for (const to of recipients) {
    let jid: Jid;
    try {
      jid = parseJid(to);
    } catch {
      continue;
    }
    if (readers && !(await engine.mayRead(event.service, event.node, jid))) continue;
    await route(notificationMessage(event, domain, to, randomUUID(), maxItems));
  }
}
