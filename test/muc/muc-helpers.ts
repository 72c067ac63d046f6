// Raw XEP-0045 steps for the MUC tests, sent by stock @xmpp/client.
import assert from 'node:assert/strict';
import { xml, type Element, type TestClient } from '../harness/client.ts';

export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_USER = 'http://jabber.org/protocol/muc#user';
export const NS_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_OWNER = 'http://jabber.org/protocol/muc#owner';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_OCCUPANT_ID = 'urn:xmpp:occupant-id:0';
export const SERVICE = 'conference.localhost';

export const roomJid = (room: string): string => `${room}@${SERVICE}`;

/** Status codes of a MUC presence or message. */
export function codes(e: Element): number[] {
  return (e.getChild('x', NS_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs['code']));
}

export function item(e: Element): Record<string, string> {
  return (e.getChild('x', NS_USER)?.getChild('item')?.attrs ?? {}) as Record<string, string>;
}

export const presenceFrom = (from: string, type?: string) => (e: Element): boolean =>
  e.is('presence') && e.attrs['from'] === from && e.attrs['type'] === type;

export const errorCondition = (e: Element): string | undefined => e.getChild('error')?.children.find((c) => typeof c !== 'string' && (c as Element).attrs['xmlns'] === NS_STANZAS && (c as Element).name !== 'text') ? (e.getChild('error')!.children.find((c) => typeof c !== 'string' && (c as Element).attrs['xmlns'] === NS_STANZAS && (c as Element).name !== 'text') as Element).name : undefined;

/** Sends the join presence and waits for the self-presence (110); returns it. */
export async function join(c: TestClient, room: string, nick: string, extra: Element[] = []): Promise<Element> {
  await c.send(xml('presence', { to: `${roomJid(room)}/${nick}` }, xml('x', { xmlns: NS_MUC }, ...extra)));
  const self = await c.waitFor((e) => e.is('presence') && e.attrs['from'] === `${roomJid(room)}/${nick}` && (codes(e).includes(110) || e.attrs['type'] === 'error'), 5000, `self-presence in ${room}`);
  return self;
}

/** Sends the join presence and returns the error condition it gets. */
export async function joinError(c: TestClient, room: string, nick: string, extra: Element[] = []): Promise<string | undefined> {
  const self = await join(c, room, nick, extra);
  assert.equal(self.attrs['type'], 'error', `expected an error, got ${self.toString()}`);
  return errorCondition(self);
}

/** Creates an instant room (§10.1.2) and returns the self-presence. */
export async function createInstant(c: TestClient, room: string, nick: string): Promise<Element> {
  const self = await join(c, room, nick);
  assert.deepEqual(codes(self).includes(201), true, self.toString());
  await c.iqSet(xml('query', { xmlns: NS_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' })), roomJid(room));
  return self;
}

/** Submits room configuration fields (values as strings or lists). */
export async function configure(c: TestClient, room: string, fields: Record<string, string | string[]>): Promise<void> {
  await c.iqSet(xml('query', { xmlns: NS_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
    ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, ...(Array.isArray(v) ? v : [v]).map((x) => xml('value', {}, x)))))), roomJid(room));
}

export async function admin(c: TestClient, room: string, attrs: Record<string, string>, reason?: string): Promise<Element> {
  return c.iqSet(xml('query', { xmlns: NS_ADMIN }, reason !== undefined ? xml('item', attrs, xml('reason', {}, reason)) : xml('item', attrs)), roomJid(room));
}

export async function rejectsWith(p: Promise<unknown>, condition: string): Promise<void> {
  await assert.rejects(p, (e: Error & { condition?: string }) => {
    assert.equal(e.condition, condition, e.message);
    return true;
  });
}

export async function say(c: TestClient, room: string, body: string): Promise<void> {
  await c.send(xml('message', { to: roomJid(room), type: 'groupchat' }, xml('body', {}, body)));
}

export const groupchat = (room: string, nick: string, body?: string) => (e: Element): boolean =>
  e.is('message') && e.attrs['from'] === `${roomJid(room)}/${nick}` && e.attrs['type'] === 'groupchat' && (body === undefined || e.getChildText('body') === body);
