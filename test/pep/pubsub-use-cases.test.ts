// XEP-0060 use cases on a PEP service (XEP-0163): access models (presence, roster groups,
// whitelist with member affiliations, open, outcasts), owner configuration, purge, delete and
// affiliations with their notifications, explicit subscriptions, RSM paging of items, and the
// error conditions §6-§8 list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import { NS_EVENT, NS_OWNER, NS_PUBSUB, befriend, eventFor, form, goOnlineWithCaps, hasItem, itemsQuery, publish, refused } from './helpers.ts';

const D = 'localhost';
const OLIVIA = `olivia@${D}`;
const FRED = `fred@${D}`;
const CORA = `cora@${D}`;
const SAM = `sam@${D}`;
const NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';
const NS_RSM = 'http://jabber.org/protocol/rsm';

const note = (text: string) => xml('note', { xmlns: 'urn:example:notes' }, text);
const ids = (r: Element) => (r.getChild('items')?.getChildren('item') ?? []).map((i: Element) => String(i.attrs['id']));
const createWith = (node: string, fields: Record<string, string | string[]>) =>
  xml('pubsub', { xmlns: NS_PUBSUB }, xml('create', { node }), xml('configure', {}, form(NODE_CONFIG, 'submit', fields)));
const owner = (child: Element) => xml('pubsub', { xmlns: NS_OWNER }, child);

describe('XEP-0060 use cases on PEP', () => {
  let server: TestServer;
  let olivia: TestClient;
  let fred: TestClient;
  let cora: TestClient;
  let sam: TestClient;

  before(async () => {
    server = await startServer({ users: [[OLIVIA, 'pw-o'], [FRED, 'pw-f'], [CORA, 'pw-c'], [SAM, 'pw-s']] });
    olivia = await server.connectClient(undefined, OLIVIA);
    fred = await server.connectClient(undefined, FRED);
    cora = await server.connectClient(undefined, CORA);
    sam = await server.connectClient(undefined, SAM);
    for (const c of [olivia, fred, cora]) await c.send(xml('presence'));
    await befriend(olivia, OLIVIA, fred, FRED);
    await befriend(olivia, OLIVIA, cora, CORA);
    await olivia.iqSet(xml('query', 'jabber:iq:roster', xml('item', { jid: FRED }, xml('group', {}, 'Friends'))));
    await olivia.iqSet(xml('query', 'jabber:iq:roster', xml('item', { jid: CORA }, xml('group', {}, 'Work'))));
    await goOnlineWithCaps(fred, ['urn:test:owned+notify', 'urn:test:open+notify']);
  });
  after(async () => {
    for (const c of [olivia, fred, cora, sam]) await c?.close();
    await server.remove();
  });

  it('§4.5 access models: presence, roster groups, whitelist with members, open, outcasts', async () => {
    // Auto-created with the PEP default: presence.
    await olivia.iqSet(publish('urn:test:presence', 'p1', note('for contacts')));
    assert.deepEqual(ids(await fred.iqGet(itemsQuery('urn:test:presence'), OLIVIA)), ['p1']);
    assert.deepEqual(await refused(sam.iqGet(itemsQuery('urn:test:presence'), OLIVIA)), ['not-authorized', 'presence-subscription-required']);

    await olivia.iqSet(createWith('urn:test:roster', { 'pubsub#access_model': 'roster', 'pubsub#roster_groups_allowed': ['Friends'] }));
    await olivia.iqSet(publish('urn:test:roster', 'r1', note('for friends')));
    assert.deepEqual(ids(await fred.iqGet(itemsQuery('urn:test:roster'), OLIVIA)), ['r1']);
    for (const c of [cora, sam]) assert.deepEqual(await refused(c.iqGet(itemsQuery('urn:test:roster'), OLIVIA)), ['not-authorized', 'not-in-roster-group']);

    await olivia.iqSet(createWith('urn:test:whitelist', { 'pubsub#access_model': 'whitelist' }));
    await olivia.iqSet(publish('urn:test:whitelist', 'w1', note('for members')));
    assert.deepEqual(await refused(fred.iqGet(itemsQuery('urn:test:whitelist'), OLIVIA)), ['not-allowed', 'closed-node']);
    await olivia.iqSet(owner(xml('affiliations', { node: 'urn:test:whitelist' }, xml('affiliation', { jid: SAM, affiliation: 'member' }))));
    assert.deepEqual(ids(await sam.iqGet(itemsQuery('urn:test:whitelist'), OLIVIA)), ['w1']);
    const affs = (await olivia.iqGet(owner(xml('affiliations', { node: 'urn:test:whitelist' })))).getChild('affiliations')?.getChildren('affiliation') ?? [];
    assert.deepEqual(affs.map((a: Element) => `${a.attrs['jid']}=${a.attrs['affiliation']}`).sort(), [`${OLIVIA}=owner`, `${SAM}=member`]);
    // Only an owner manages affiliations.
    assert.deepEqual(await refused(sam.iqGet(owner(xml('affiliations', { node: 'urn:test:whitelist' })), OLIVIA)), ['forbidden', undefined]);

    await olivia.iqSet(publish('urn:test:open', 'o1', note('for all'), { 'pubsub#access_model': 'open' }));
    assert.deepEqual(ids(await sam.iqGet(itemsQuery('urn:test:open'), OLIVIA)), ['o1']);
    await olivia.iqSet(owner(xml('affiliations', { node: 'urn:test:open' }, xml('affiliation', { jid: CORA, affiliation: 'outcast' }))));
    assert.deepEqual(await refused(cora.iqGet(itemsQuery('urn:test:open'), OLIVIA)), ['forbidden', undefined]);

    // disco#items shows each requester what it may see.
    const seen = async (c: TestClient) => ((await c.iqGet(xml('query', 'http://jabber.org/protocol/disco#items'), OLIVIA)).getChildren('item') as Element[]).map((i) => String(i.attrs['node'])).sort();
    assert.deepEqual(await seen(sam), ['urn:test:open', 'urn:test:whitelist']);
    assert.deepEqual(await seen(fred), ['urn:test:open', 'urn:test:presence', 'urn:test:roster']);
    // §5.3: a node's info (leaf, with its meta-data form) to those who may see it; §5.5 its item ids.
    const info = await fred.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'urn:test:presence' }), OLIVIA);
    assert.ok(info.getChildren('identity').some((i: Element) => i.attrs['category'] === 'pubsub' && i.attrs['type'] === 'leaf'));
    assert.ok(info.getChild('x', 'jabber:x:data')?.getChildren('field').some((f: Element) => f.attrs['var'] === 'pubsub#access_model' && f.getChildText('value') === 'presence'));
    assert.deepEqual(await refused(sam.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'urn:test:presence' }), OLIVIA)), ['item-not-found', undefined]);
    const nodeItems = await fred.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#items', node: 'urn:test:presence' }), OLIVIA);
    assert.deepEqual(nodeItems.getChildren('item').map((i: Element) => i.attrs['name']), ['p1']);
  });

  it('§6.1 explicit subscription to an open node brings notifications; refused on a presence node', async () => {
    // Notifications to a bare JID are headlines: they reach available resources only.
    await sam.send(xml('presence'));
    const sub = await sam.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node: 'urn:test:open', jid: SAM })), OLIVIA);
    assert.equal(sub.getChild('subscription')?.attrs['subscription'], 'subscribed');
    await olivia.iqSet(publish('urn:test:open', 'o2', note('news')));
    await sam.waitFor(eventFor(OLIVIA, 'urn:test:open', hasItem('o2')), 10_000, 'notification of the subscription');
    await fred.waitFor(eventFor(OLIVIA, 'urn:test:open', hasItem('o2')), 10_000, 'notification by +notify');
    assert.deepEqual(await refused(sam.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node: 'urn:test:presence', jid: SAM })), OLIVIA)), ['not-authorized', 'presence-subscription-required']);
    assert.deepEqual(await refused(sam.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node: 'urn:test:open', jid: FRED })), OLIVIA)), ['bad-request', 'invalid-jid']);
    await sam.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('unsubscribe', { node: 'urn:test:open', jid: SAM })), OLIVIA);
    assert.deepEqual(await refused(sam.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('unsubscribe', { node: 'urn:test:open', jid: SAM })), OLIVIA)), ['unexpected-request', 'not-subscribed']);
  });

  it('§8.2 configure, §7.2 retract, §8.5 purge and §8.4 delete by the owner, each notified to a +notify contact', async () => {
    const N = 'urn:test:owned';
    await olivia.iqSet(publish(N, 'a', note('a'), { 'pubsub#max_items': '10' }));
    const cfg = (await olivia.iqGet(owner(xml('configure', { node: N })))).getChild('configure')?.getChild('x', 'jabber:x:data');
    const value = (v: string) => cfg?.getChildren('field').find((f: Element) => f.attrs['var'] === v)?.getChildText('value');
    assert.equal(value('FORM_TYPE'), NODE_CONFIG);
    assert.equal(value('pubsub#access_model'), 'presence');
    assert.equal(value('pubsub#max_items'), '10');
    assert.deepEqual(await refused(fred.iqGet(owner(xml('configure', { node: N })), OLIVIA)), ['forbidden', undefined]);
    // max_items down to 2: the oldest go.
    for (const id of ['b', 'c']) await olivia.iqSet(publish(N, id, note(id)));
    await olivia.iqSet(owner(xml('configure', { node: N }, form(NODE_CONFIG, 'submit', { 'pubsub#max_items': '2' }))));
    assert.deepEqual(ids(await olivia.iqGet(itemsQuery(N))), ['c', 'b']);

    await olivia.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('retract', { node: N }, xml('item', { id: 'b' }))));
    await fred.waitFor(eventFor(OLIVIA, N, (items) => items.getChild('retract')?.attrs['id'] === 'b'), 10_000, 'retract notification');
    assert.deepEqual(await refused(olivia.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('retract', { node: N }, xml('item', { id: 'b' }))))), ['item-not-found', undefined]);
    assert.deepEqual(await refused(fred.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('retract', { node: N }, xml('item', { id: 'c' }))), OLIVIA)), ['forbidden', undefined]);

    await olivia.iqSet(owner(xml('purge', { node: N })));
    await fred.waitFor((e) => e.is('message') && e.getChild('event', NS_EVENT)?.getChild('purge')?.attrs['node'] === N, 10_000, 'purge notification');
    assert.deepEqual(ids(await olivia.iqGet(itemsQuery(N))), []);

    assert.deepEqual(await refused(fred.iqSet(owner(xml('delete', { node: N })), OLIVIA)), ['forbidden', undefined]);
    await olivia.iqSet(owner(xml('delete', { node: N })));
    await fred.waitFor((e) => e.is('message') && e.getChild('event', NS_EVENT)?.getChild('delete')?.attrs['node'] === N, 10_000, 'delete notification');
    assert.deepEqual(await refused(olivia.iqGet(itemsQuery(N))), ['item-not-found', undefined]);
  });

  it('XEP-0059 paging of items, newest first', async () => {
    const N = 'urn:test:paged';
    for (const id of ['1', '2', '3', '4', '5']) await olivia.iqSet(publish(N, id, note(id), { 'pubsub#max_items': 'max' }));
    const page = (set: Element) => olivia.iqGet(itemsQuery(N, {}, set));
    const p1 = await page(xml('set', { xmlns: NS_RSM }, xml('max', {}, '2')));
    assert.deepEqual(ids(p1), ['5', '4']);
    const rsm1 = p1.getChild('set', NS_RSM);
    assert.equal(rsm1?.getChildText('count'), '5');
    assert.equal(rsm1?.getChild('first')?.attrs['index'], '0');
    const p2 = await page(xml('set', { xmlns: NS_RSM }, xml('max', {}, '2'), xml('after', {}, String(rsm1?.getChildText('last')))));
    assert.deepEqual(ids(p2), ['3', '2']);
    const p3 = await page(xml('set', { xmlns: NS_RSM }, xml('max', {}, '2'), xml('after', {}, String(p2.getChild('set', NS_RSM)?.getChildText('last')))));
    assert.deepEqual(ids(p3), ['1']);
    assert.deepEqual(ids(await olivia.iqGet(itemsQuery(N, { max: 3 }))), ['5', '4', '3']);
  });

  it('§7.1.3 / §8.1.3 errors: another account\'s PEP, bad payloads, existing nodes, unknown nodes and items', async () => {
    assert.deepEqual(await refused(sam.iqSet(publish('urn:test:intruder', 'x', note('x')), OLIVIA)), ['forbidden', undefined]);
    const two = xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node: 'urn:test:two' }, xml('item', { id: 'x' }, note('1'), note('2'))));
    assert.deepEqual(await refused(olivia.iqSet(two)), ['bad-request', 'invalid-payload']);
    const none = xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node: 'urn:test:two' }));
    assert.deepEqual(await refused(olivia.iqSet(none)), ['bad-request', 'item-required']);
    assert.deepEqual(await refused(olivia.iqSet(createWith('urn:test:presence', {}))), ['conflict', undefined]);
    assert.deepEqual(await refused(olivia.iqGet(itemsQuery('urn:test:nothing'))), ['item-not-found', undefined]);
    assert.deepEqual(await refused(olivia.iqSet(publish('urn:test:presence', 'p2', note('x'), { 'pubsub#max_items': 'lots' }))), ['conflict', 'precondition-not-met']);
    assert.deepEqual(await refused(olivia.iqSet(owner(xml('configure', { node: 'urn:test:presence' }, form(NODE_CONFIG, 'submit', { 'pubsub#access_model': 'everyone' }))))), ['not-acceptable', undefined]);
    // Server-generated item ids when the publisher gives none (§7.1.2).
    const r = await olivia.iqSet(publish('urn:test:noid', undefined, note('no id')));
    assert.ok(String(r.getChild('publish')?.getChild('item')?.attrs['id']).length > 0);
  });
});
