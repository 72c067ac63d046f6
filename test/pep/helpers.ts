// Shared by the PEP tests: contacts made the RFC 6121 way, XEP-0115 caps announced and answered
// as a client does, and the publish/retrieve stanzas as the clients named in each test send them.
import assert from 'node:assert/strict';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import { capsVer } from '../../src/lib/caps-ver.ts';
export { befriend } from '../harness/contacts.ts';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const NS_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const NS_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_INFO = 'http://jabber.org/protocol/disco#info';
const CAPS_NODE = 'https://example.org/pep-test-client';



/**
 * XEP-0115: answers disco#info for its caps node (as every caps-sending client does) and sends
 * available presence with <c/>; waits until the server has asked (a new 'ver') or not at all.
 */
export async function goOnlineWithCaps(c: TestClient, features: string[]): Promise<void> {
  const all = [NS_CAPS, NS_INFO, ...features];
  // A name per session makes each 'ver' new, so the server always asks (and the test knows when).
  const identity = { category: 'client', type: 'pc', name: `PEP test client ${c.jid.toString()} ${++capsSeq}` };
  const ver = capsVer([identity], all);
  c.xmpp.iqCallee.get(NS_INFO, 'query', () =>
    xml('query', { xmlns: NS_INFO, node: `${CAPS_NODE}#${ver}` }, xml('identity', identity), ...all.map((f) => xml('feature', { var: f }))));
  await c.send(xml('presence', {}, xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver })));
  await c.waitFor((e) => e.is('iq') && e.attrs['type'] === 'get' && e.getChild('query', NS_INFO)?.attrs['node'] === `${CAPS_NODE}#${ver}`, 10_000, 'the caps query');
  // The answer is on its way before this ping, which the server handles after it (stream order).
  await c.ping();
}

let capsSeq = 0;

/** A publish with optional publish-options (§7.1.5), as Conversations / Dino / Gajim send it. */
export function publish(node: string, id: string | undefined, payload: Element, options?: Record<string, string>): Element {
  const pubsub = xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', id === undefined ? {} : { id }, payload)));
  if (options) pubsub.append(xml('publish-options', {}, form('http://jabber.org/protocol/pubsub#publish-options', 'submit', options)));
  return pubsub;
}

export function form(formType: string, type: string, fields: Record<string, string | string[]>): Element {
  return xml('x', { xmlns: 'jabber:x:data', type },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, formType)),
    ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, ...(Array.isArray(v) ? v : [v]).map((x) => xml('value', {}, x)))));
}

export function itemsQuery(node: string, opts: { max?: number; ids?: string[] } = {}, extra?: Element): Element {
  const pubsub = xml('pubsub', { xmlns: NS_PUBSUB },
    xml('items', opts.max === undefined ? { node } : { node, max_items: String(opts.max) }, ...(opts.ids ?? []).map((id) => xml('item', { id }))));
  if (extra) pubsub.append(extra);
  return pubsub;
}

/** The error of a request that must fail: [condition, pubsub#errors condition]. */
export async function refused(p: Promise<unknown>): Promise<[string, string | undefined]> {
  try {
    await p;
  } catch (e) {
    const err = e as { condition?: string; application?: Element; element?: Element };
    assert.ok(err.condition, String(e));
    const app = err.element?.getChildElements().find((c: Element) => c.attrs['xmlns'] === NS_ERRORS);
    return [err.condition, app?.name];
  }
  assert.fail('the request succeeded');
}

/** A notification (headline message with a pubsub event) about `node` from `from`. */
export function eventFor(from: string, node: string, pred: (items: Element) => boolean = () => true) {
  return (e: Element): boolean => {
    if (!e.is('message') || e.attrs['from'] !== from) return false;
    const ev = e.getChild('event', NS_EVENT);
    const items = ev?.getChildElements().find((c: Element) => c.attrs['node'] === node);
    return items !== undefined && pred(items);
  };
}

export const hasItem = (id: string) => (items: Element): boolean => items.is('items') && items.getChildren('item').some((i: Element) => i.attrs['id'] === id);
