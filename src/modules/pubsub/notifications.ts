// XEP-0060 §7-§8 event notifications of the pubsub.<host> service: what the engine reports is
// turned into <message/>s to the subscribers who may still read the node.
import { randomUUID } from 'node:crypto';
import { parseJid, type Jid } from '../../core/jid.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { NS_PUBSUB_EVENT, type PubsubEngine, type PubsubEvent, type PubsubItem } from '../../lib/pubsub/api.ts';

const NS_DELAY = 'urn:xmpp:delay';

/** The <event/> for one event, or undefined when the node's configuration says not to tell. */
export function eventElement(event: PubsubEvent): Element | undefined {
  const c = event.config;
  const items = (...children: Element[]) => el('event', { xmlns: NS_PUBSUB_EVENT }, el('items', { node: event.node }, ...children));
  const item = (i: PubsubItem) => el('item', { id: i.id }, c.deliverPayloads ? i.payload.clone() : null);
  switch (event.kind) {
    case 'published':
      // §7.1.2.1 with payload, §7.1.2.2 without (deliver_payloads false).
      return c.deliverNotifications ? items(...event.items.map(item)) : undefined;
    case 'last':
      return c.deliverNotifications ? items(item(event.item)) : undefined;
    case 'retracted':
      // §7.2.2.1.
      return c.notifyRetract && c.deliverNotifications ? items(...event.ids.map((id) => el('retract', { id }))) : undefined;
    case 'purged':
      // §8.5.2.
      return c.notifyRetract ? el('event', { xmlns: NS_PUBSUB_EVENT }, el('purge', { node: event.node })) : undefined;
    case 'deleted':
      // §8.4.2 (with the redirect URI when the owner gave one).
      return c.notifyDelete
        ? el('event', { xmlns: NS_PUBSUB_EVENT }, el('delete', { node: event.node }, event.redirect ? el('redirect', { uri: event.redirect }) : null))
        : undefined;
    case 'configured':
      // §8.2.5.2 without payload: the node's name only.
      return c.notifyConfig ? el('event', { xmlns: NS_PUBSUB_EVENT }, el('configuration', { node: event.node })) : undefined;
  }
}

/**
 * Routes the event to each subscriber the access model still lets in (a presence subscription can
 * have ended since), once per JID; the last item goes to its new subscriber only.
 */
export async function notify(engine: PubsubEngine, domain: string, event: PubsubEvent, route: (stanza: Element) => Promise<void>): Promise<void> {
  const payload = eventElement(event);
  if (!payload) return;
  const recipients = event.kind === 'last' ? [event.to.toString()] : [...new Set(event.subscribers)];
  for (const to of recipients) {
    let jid: Jid;
    try {
      jid = parseJid(to);
    } catch {
      continue;
    }
    // Deletion and purges reach every subscriber: there is nothing left to read.
    if ((event.kind === 'published' || event.kind === 'last') && !(await engine.mayRead(event.service, event.node, jid))) continue;
    const message = el('message', { from: domain, to, type: event.config.notificationType === 'normal' ? undefined : 'headline', id: randomUUID() }, payload.clone());
    // §6.1.7: the last item sent on subscription says when it was published.
    if (event.kind === 'last') message.append(el('delay', { xmlns: NS_DELAY, from: domain, stamp: event.item.published.toISOString() }));
    await route(message);
  }
}
