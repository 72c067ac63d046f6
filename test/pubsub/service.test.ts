// XEP-0060 on pubsub.<host> through its use cases (owner, publisher, subscriber, outcast), with
// slixmpp's stock xep_0060 plugin as the main client and @xmpp/client for raw requests, against
// a real server process; items and subscriptions survive a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element } from '../harness/client.ts';
import { slixmppUnavailable, type SlixClient } from '../harness/slixmpp.ts';
import { NS_OWNER, NS_PUBSUB, SERVICE, closeClients, notification, ps, slixUser } from './helpers.ts';

const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const MODULES = { disco: {}, roster: {}, pubsub: {} };
const entry = (n: number) => `<entry xmlns='urn:example:news'>story ${String(n)}</entry>`;

describe('XEP-0060 service on pubsub.<host>', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: MODULES });
  });
  after(async () => {
    await closeClients();
    await server.remove();
  });

  it('§5.1/§5.2: the host lists the service; it is a pubsub/service with the features it offers', async (t) => {
    const c = await server.connectClient(t, 'looker');
    const items = await c.iqGet(xml('query', { xmlns: NS_DISCO_ITEMS }), 'localhost');
    assert.ok(items.getChildren('item').some((i: Element) => i.attrs['jid'] === SERVICE));
    const info = await c.iqGet(xml('query', { xmlns: NS_DISCO_INFO }), SERVICE);
    const identity = info.getChild('identity');
    assert.equal(identity?.attrs['category'], 'pubsub');
    assert.equal(identity?.attrs['type'], 'service');
    const features = info.getChildren('feature').map((f: Element) => f.attrs['var']);
    for (const f of ['', '#create-nodes', '#instant-nodes', '#publish', '#subscribe', '#retrieve-items', '#manage-subscriptions', '#modify-affiliations', '#outcast-affiliation', '#access-whitelist', '#persistent-items']) {
      assert.ok(features.includes(NS_PUBSUB + f), `feature ${NS_PUBSUB}${f}`);
    }
  });

  let owner: SlixClient;
  let reader: SlixClient;

  it('§8.1 create (named and instant), §6.1 subscribe, §7.1 publish: the subscriber is notified with the payload', async (t) => {
    owner = await slixUser(undefined, server, 'owner');
    reader = await slixUser(undefined, server, 'reader');
    const created = await ps(owner, 'create', { node: 'news', config: { 'pubsub#access_model': 'open', 'pubsub#title': 'News' } });
    assert.equal(created.error, undefined, created.xml);
    const instant = await ps(owner, 'create', {});
    assert.equal(instant.error, undefined, instant.xml);
    assert.ok(typeof instant['node'] === 'string' && instant['node'].length > 0, 'an instant node gets a name from the service');
    // §8.1.1: an existing name is a conflict.
    assert.equal((await ps(reader, 'create', { node: 'news' })).error, 'conflict');

    const sub = await ps(reader, 'subscribe', { node: 'news' });
    assert.equal(sub.error, undefined, sub.xml);
    assert.equal(sub['subscription'], 'subscribed');

    const published = await ps(owner, 'publish', { node: 'news', item: 'one', payload: entry(1) });
    assert.equal(published.error, undefined, published.xml);
    const event = await notification(reader, /<items node="news"><item id="one"><entry xmlns="urn:example:news">story 1<\/entry>/);
    assert.match(event, /http:\/\/jabber.org\/protocol\/pubsub#event/);

    // §5.2: the new node is listed, with its title.
    const c = await server.connectClient(t, 'reader');
    const nodes = await c.iqGet(xml('query', { xmlns: NS_DISCO_ITEMS }), SERVICE);
    assert.ok(nodes.getChildren('item').some((i: Element) => i.attrs['node'] === 'news' && i.attrs['name'] === 'News'));
  });

  it('deliver_payloads false: the notification names the item without its payload; §7.2 retract is notified', async () => {
    assert.equal((await ps(owner, 'configure', { node: 'news', config: { 'pubsub#deliver_payloads': '0', 'pubsub#notify_retract': '1' } })).error, undefined);
    await ps(owner, 'publish', { node: 'news', item: 'two', payload: entry(2) });
    const bare = await notification(reader, /<item id="two"/);
    assert.doesNotMatch(bare, /story 2/);
    assert.equal((await ps(owner, 'retract', { node: 'news', item: 'two', notify: true })).error, undefined);
    await notification(reader, /<retract id="two"/);
    assert.equal((await ps(owner, 'configure', { node: 'news', config: { 'pubsub#deliver_payloads': '1' } })).error, undefined);
  });

  it('§6.5 items, newest first, by id and with XEP-0059 paging', async (t) => {
    for (const n of [3, 4, 5]) await ps(owner, 'publish', { node: 'news', item: `n${String(n)}`, payload: entry(n) });
    const all = await ps(reader, 'items', { node: 'news' });
    assert.equal(all.error, undefined, all.xml);
    const ids = (all['items'] as { id: string }[]).map((i) => i.id);
    assert.deepEqual([...ids].sort(), ['n3', 'n4', 'n5', 'one']);
    const some = await ps(reader, 'items', { node: 'news', ids: ['n4'] });
    assert.deepEqual((some['items'] as { id: string }[]).map((i) => i.id), ['n4']);

    const c = await server.connectClient(t, 'pager');
    const page = await c.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: 'news' }), xml('set', { xmlns: NS_RSM }, xml('max', {}, '2'))), SERVICE);
    assert.equal(page.getChild('items')?.getChildren('item').length, 2);
    const set = page.getChild('set', NS_RSM);
    assert.equal(set?.getChildText('count'), '4');
    const next = await c.iqGet(
      xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: 'news' }), xml('set', { xmlns: NS_RSM }, xml('max', {}, '2'), xml('after', {}, set?.getChildText('last') ?? ''))),
      SERVICE,
    );
    const firstPage = page.getChild('items')?.getChildren('item').map((i: Element) => i.attrs['id']) ?? [];
    const secondPage = next.getChild('items')?.getChildren('item').map((i: Element) => i.attrs['id']) ?? [];
    assert.equal(secondPage.length, 2);
    assert.deepEqual([...firstPage, ...secondPage].sort(), ['n3', 'n4', 'n5', 'one']);
  });

  it('§8.9 affiliations: the owner makes a publisher and an outcast; the outcast is refused, the publisher publishes', async (t) => {
    const publisher = await slixUser(t, server, 'publisher');
    const outcast = await slixUser(t, server, 'outcast');
    // Not yet a publisher: §7.1.3.1 forbidden.
    assert.equal((await ps(publisher, 'publish', { node: 'news', item: 'p0', payload: entry(0) })).error, 'forbidden');
    assert.equal((await ps(reader, 'set_affiliations', { node: 'news', affiliations: [['publisher@localhost', 'publisher']] })).error, 'forbidden', 'only owners manage affiliations');
    const set = await ps(owner, 'set_affiliations', { node: 'news', affiliations: [['publisher@localhost', 'publisher'], ['outcast@localhost', 'outcast']] });
    assert.equal(set.error, undefined, set.xml);
    const list = await ps(owner, 'affiliations', { node: 'news' });
    assert.deepEqual((list['affiliations'] as string[][]).sort(), [['outcast@localhost', 'outcast'], ['owner@localhost', 'owner'], ['publisher@localhost', 'publisher']]);

    assert.equal((await ps(publisher, 'publish', { node: 'news', item: 'p1', payload: entry(11) })).error, undefined);
    await notification(reader, /<item id="p1"/);
    // §6.1.3.8 and §6.5.9: an outcast may neither subscribe nor read.
    assert.equal((await ps(outcast, 'subscribe', { node: 'news' })).error, 'forbidden');
    assert.equal((await ps(outcast, 'items', { node: 'news' })).error, 'forbidden');
  });

  it('§8.8 subscriptions: only the owner lists them, and removes a subscriber', async () => {
    const list = await ps(owner, 'subscriptions', { node: 'news' });
    assert.equal(list.error, undefined, list.xml);
    assert.deepEqual(list['subscriptions'], [['reader@localhost', 'subscribed']]);
    assert.equal((await ps(reader, 'subscriptions', { node: 'news' })).error, 'forbidden');
    assert.equal((await ps(owner, 'set_subscriptions', { node: 'news', subscriptions: [['reader@localhost', 'none']] })).error, undefined);
    assert.deepEqual((await ps(owner, 'subscriptions', { node: 'news' }))['subscriptions'], []);
    await ps(reader, 'subscribe', { node: 'news' });
  });

  it('§4.5 access models: whitelist lets members in only, presence and roster follow the owner\'s roster', async (t) => {
    const stranger = await slixUser(t, server, 'stranger');
    await ps(owner, 'create', { node: 'private', config: { 'pubsub#access_model': 'whitelist' } });
    const closed = await ps(stranger, 'subscribe', { node: 'private' });
    assert.equal(closed.error, 'not-allowed');
    assert.equal(closed.app, 'closed-node');
    await ps(owner, 'set_affiliations', { node: 'private', affiliations: [['stranger@localhost', 'member']] });
    assert.equal((await ps(stranger, 'subscribe', { node: 'private' })).error, undefined);

    await ps(owner, 'create', { node: 'friends', config: { 'pubsub#access_model': 'presence' } });
    const refused = await ps(reader, 'subscribe', { node: 'friends' });
    assert.equal(refused.error, 'not-authorized');
    assert.equal(refused.app, 'presence-subscription-required');
    // reader subscribes to owner's presence and owner approves: reader may now read the node.
    await reader.subscribe('owner@localhost', 'subscribe');
    await owner.waitFor((e) => e.event === 'stanza' && e.name === 'presence' && e.type === 'subscribe');
    await owner.subscribe('reader@localhost', 'subscribed');
    await reader.waitFor((e) => e.event === 'stanza' && e.name === 'presence' && e.type === 'subscribed');
    assert.equal((await ps(reader, 'subscribe', { node: 'friends' })).error, undefined);

    await ps(owner, 'create', { node: 'family', config: { 'pubsub#access_model': 'roster', 'pubsub#roster_groups_allowed': 'Family' } });
    const notInGroup = await ps(reader, 'items', { node: 'family' });
    assert.equal(notInGroup.error, 'not-authorized');
    assert.equal(notInGroup.app, 'not-in-roster-group');
    await owner.rosterSet('reader@localhost', { groups: ['Family'] });
    assert.equal((await ps(reader, 'items', { node: 'family' })).error, undefined);
  });

  it('§8.4 delete: subscribers are told; the node is gone', async () => {
    await ps(owner, 'create', { node: 'short-lived' });
    await ps(reader, 'subscribe', { node: 'short-lived' });
    assert.equal((await ps(reader, 'delete', { node: 'short-lived' })).error, 'forbidden');
    assert.equal((await ps(owner, 'delete', { node: 'short-lived' })).error, undefined);
    await notification(reader, /<delete node="short-lived"/);
    assert.equal((await ps(reader, 'items', { node: 'short-lived' })).error, 'item-not-found');
  });

  it('nodes, items and subscriptions survive a restart (persist_items), sealed at rest', async () => {
    await closeClients();
    await server.stop();
    // Node names, subscribers' addresses and payloads are nowhere in clear on disk.
    for (const f of [...listFiles(server.dataDir), server.logFile]) {
      const bytes = readFileSync(f).toString('latin1');
      for (const marker of ['reader@localhost', 'story 1', 'urn:example:news']) assert.ok(!bytes.includes(marker), `${marker} readable in ${f}`);
    }
    server = await startServer({ root: server.root, modules: MODULES });
    owner = await slixUser(undefined, server, 'owner');
    reader = await slixUser(undefined, server, 'reader');
    const items = await ps(reader, 'items', { node: 'news', ids: ['one'] });
    assert.equal(items.error, undefined, items.xml);
    assert.match(String((items['items'] as { xml: string }[])[0]?.xml), /story 1/);
    await ps(owner, 'publish', { node: 'news', item: 'after-restart', payload: entry(99) });
    await notification(reader, /<item id="after-restart"/);
  });

  it('a deleted account loses its nodes, subscriptions and affiliations; its export lists its subscriptions', async (t) => {
    const leaver = await slixUser(t, server, 'leaver');
    await ps(leaver, 'create', { node: 'leavers-node' });
    await ps(reader, 'subscribe', { node: 'leavers-node' });
    await ps(leaver, 'subscribe', { node: 'news' });
    await ps(owner, 'set_affiliations', { node: 'news', affiliations: [['leaver@localhost', 'publisher']] });

    const exported = await server.cli(['export', 'leaver@localhost']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /<service xmlns="urn:jabberx:pubsub:0" jid="pubsub.localhost">/);
    assert.match(exported.stdout, /<subscription[^>]*node="news"/);
    assert.match(exported.stdout, /<affiliation[^>]*affiliation="publisher"/);

    await leaver.close();
    assert.equal((await server.cli(['deluser', 'leaver@localhost'])).code, 0);
    await notification(reader, /<delete node="leavers-node"/);
    assert.deepEqual((await ps(owner, 'subscriptions', { node: 'news' }))['subscriptions'], [['reader@localhost', 'subscribed']]);
    const affiliations = (await ps(owner, 'affiliations', { node: 'news' }))['affiliations'] as string[][];
    assert.ok(!affiliations.some(([jid]) => jid === 'leaver@localhost'));
    // The others carry on.
    await ps(owner, 'publish', { node: 'news', item: 'still-here', payload: entry(100) });
    await notification(reader, /<item id="still-here"/);
  });

  it('§8.3 default configuration; §6.3 subscription options are not offered; malformed requests get proper stanza errors', async (t) => {
    const c = await server.connectClient(t, 'clumsy');
    const defaults = await c.iqGet(xml('pubsub', { xmlns: NS_OWNER }, xml('default')), SERVICE);
    const form = defaults.getChild('default')?.getChild('x', 'jabber:x:data');
    const fields = new Map(form?.getChildren('field').map((f: Element) => [f.attrs['var'], f.getChildText('value')]));
    assert.equal(fields.get('FORM_TYPE'), 'http://jabber.org/protocol/pubsub#node_config');
    assert.equal(fields.get('pubsub#access_model'), 'open');
    await assert.rejects(
      c.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('options', { node: 'news', jid: 'clumsy@localhost' })), SERVICE),
      (e: { condition?: string; application?: Element }) => e.condition === 'feature-not-implemented' && e.application?.attrs['feature'] === 'subscription-options',
    );
    await assert.rejects(c.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', {})), SERVICE), (e: { condition?: string }) => e.condition === 'bad-request');
    await assert.rejects(c.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: 'no-such-node' })), SERVICE), (e: { condition?: string }) => e.condition === 'item-not-found');
    await assert.rejects(c.iqGet(xml('pubsub', { xmlns: NS_OWNER }, xml('affiliations', { node: 'news' })), SERVICE), (e: { condition?: string }) => e.condition === 'forbidden');
    await assert.rejects(c.iqGet(xml('query', { xmlns: 'jabber:iq:version' }), SERVICE), (e: { condition?: string }) => e.condition === 'service-unavailable');
  });
});
