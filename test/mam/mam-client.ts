// XEP-0313 queries as Conversations and Gajim send them (raw stanzas over @xmpp/client), and the
// results read back from the stream.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import type { TestServer } from '../harness/server.ts';

export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_SID = 'urn:xmpp:sid:0';
const NS_RSM = 'http://jabber.org/protocol/rsm';

export interface QueryOptions {
  fields?: Record<string, string | string[]>;
  max?: number;
  after?: string;
  /** '' asks for the last page. */
  before?: string;
  flip?: boolean;
  to?: string;
}

export interface Archived {
  id: string;
  stamp: string;
  from: string;
  to: string;
  body: string | undefined;
  message: Element;
}

export interface QueryResult {
  results: Archived[];
  fin: Element;
  complete: boolean;
  first?: string;
  last?: string;
  count?: number;
}

function form(fields: Record<string, string | string[]>): Element {
  return xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM)),
    ...Object.entries(fields).map(([name, v]) => xml('field', { var: name }, ...(Array.isArray(v) ? v : [v]).map((x) => xml('value', {}, x)))));
}

/** Sends a query and returns the results that came before its IQ result, in stream order. */
export async function query(client: TestClient, o: QueryOptions = {}): Promise<QueryResult> {
  const queryid = randomUUID();
  const paging: Element[] = [];
  if (o.max !== undefined) paging.push(xml('max', {}, String(o.max)));
  if (o.after !== undefined) paging.push(xml('after', {}, o.after));
  if (o.before !== undefined) paging.push(xml('before', {}, o.before));
  const set = paging.length > 0 ? xml('set', { xmlns: NS_RSM }, ...paging) : undefined;
  const payload = xml('query', { xmlns: NS_MAM, queryid }, ...[o.fields ? form(o.fields) : undefined, set, o.flip ? xml('flip-page') : undefined].filter((e): e is Element => e !== undefined));
  const iq = await client.iqCaller.request(xml('iq', { type: 'set', to: o.to }, payload));
  const fin = iq.getChild('fin', NS_MAM);
  if (!fin) throw new Error(`no <fin/> in ${iq.toString()}`);
  const results: Archived[] = [];
  for (const m of client.received) {
    const r = m.is('message') ? m.getChild('result', NS_MAM) : undefined;
    if (!r || r.attrs['queryid'] !== queryid) continue;
    const fwd = r.getChild('forwarded', 'urn:xmpp:forward:0');
    const inner = fwd?.getChild('message');
    if (!fwd || !inner) throw new Error(`result without a forwarded message: ${m.toString()}`);
    results.push({
      id: r.attrs['id'], stamp: fwd.getChild('delay', 'urn:xmpp:delay')?.attrs['stamp'], from: inner.attrs['from'], to: inner.attrs['to'],
      body: inner.getChildText('body') ?? undefined, message: inner,
    });
  }
  const rsm = fin.getChild('set', NS_RSM);
  const count = rsm?.getChildText('count');
  return {
    results, fin, complete: fin.attrs['complete'] === 'true',
    first: rsm?.getChildText('first') ?? undefined, last: rsm?.getChildText('last') ?? undefined,
    count: count === undefined || count === null ? undefined : Number(count),
  };
}

/** The condition of a rejected IQ (@xmpp/client's StanzaError). */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { condition?: string }).condition ?? String(e);
  }
  throw new Error('expected an error');
}

/** A chat message as Conversations sends it: body, origin-id, receipt request, markable. */
export function chat(to: string, body: string): Element {
  const id = randomUUID();
  return xml('message', { to, type: 'chat', id },
    xml('body', {}, body),
    xml('origin-id', { xmlns: NS_SID, id }),
    xml('request', { xmlns: 'urn:xmpp:receipts' }),
    xml('markable', { xmlns: 'urn:xmpp:chat-markers:0' }));
}

/** Puts `contact` in the client's roster (RFC 6121 §2.3), as clients do on "add contact". */
export async function addContact(client: TestClient, contact: string): Promise<void> {
  await client.iqSet(xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: contact })));
}

/**
 * Makes many accounts with one `jabberx import` (XEP-0227 users with a password, which the import
 * turns into SCRAM credentials) instead of one `jabberx adduser` process each.
 */
export async function createAccounts(server: TestServer, jids: readonly string[]): Promise<void> {
  const byHost = new Map<string, string[]>();
  for (const jid of jids) {
    const [user, host = server.domain] = jid.split('@') as [string, string?];
    byHost.set(host, [...(byHost.get(host) ?? []), user]);
  }
  const doc = ["<server-data xmlns='urn:xmpp:pie:0'>"];
  for (const [host, users] of byHost) {
    doc.push(`<host jid='${host}'>`);
    for (const u of users) doc.push(`<user name='${u}' password='pw-${u}-${host}'/>`);
    doc.push('</host>');
  }
  doc.push('</server-data>');
  const file = join(server.root, `accounts-${randomUUID()}.xml`);
  writeFileSync(file, doc.join('\n'));
  const r = await server.cli(['import', file]);
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr || r.stdout}`);
  for (const [host, users] of byHost) for (const u of users) server.passwords.set(`${u}@${host}`, `pw-${u}-${host}`);
}
