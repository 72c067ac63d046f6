// Event notifications (XEP-0060 §7.1.2, §7.2.2, §8.2.5.2, §8.4.2, §8.5.2): the <event/> element
// for an engine event and the message carrying it; whom to send it to is the host's decision.
import { el, type Element } from '../../core/xml/element.ts';
import { NS_PUBSUB_EVENT, type PubsubEvent, type PubsubItem } from './api.ts';
import { configForm } from './config.ts';

function itemElement(item: PubsubItem, withPayload: boolean): Element {
  return el('item', { id: item.id }, withPayload ? item.payload.clone() : null);
}

/** The <event xmlns='...#event'/> for an event (maxItemsLimit: for the configuration form). */
export function eventElement(ev: PubsubEvent, maxItemsLimit: number): Element {
  const node = ev.node;
  const payloads = ev.config.deliverPayloads;
  let body: Element;
  switch (ev.kind) {
    case 'published':
      body = el('items', { node }, ...ev.items.map((i) => itemElement(i, payloads)));
      break;
    case 'last':
      body = el('items', { node }, itemElement(ev.item, payloads));
      break;
    case 'retracted':
      body = el('items', { node }, ...ev.ids.map((id) => el('retract', { id })));
      break;
    case 'purged':
      body = el('purge', { node });
      break;
    case 'deleted':
      body = el('delete', { node }, ev.redirect ? el('redirect', { uri: ev.redirect }) : null);
      break;
    case 'configured':
      body = el('configuration', { node }, payloads ? configForm(ev.config, 'result', maxItemsLimit) : null);
      break;
  }
  return el('event', { xmlns: NS_PUBSUB_EVENT }, body);
}

/**
 * The notification message (§7.1.2.1): the node's notification_type as message type; the last
 * item sent later (on subscription or presence) carries a XEP-0203 delay with its publication time.
 */
export function notificationMessage(ev: PubsubEvent, from: string, to: string, id: string, maxItemsLimit: number): Element {
  const delay = ev.kind === 'last' ? el('delay', { xmlns: 'urn:xmpp:delay', from, stamp: ev.item.published.toISOString() }) : null;
  return el('message', { from, to, type: ev.config.notificationType, id }, eventElement(ev, maxItemsLimit), delay);
}
