// The PubSub engine on its own, over sealed in-memory stores: what a host relies on (events,
// errors with their pubsub#errors conditions, item order and paging, the XEP-0227 round trip).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EncryptedBackend } from '../../storage/encrypted.ts';
import { MemoryBackend } from '../../storage/memory.ts';
import { StanzaError } from '../../core/errors.ts';
import { parseJid } from '../../core/jid.ts';
import { el } from '../../core/xml/element.ts';
import type { NodeRecord, OwnerRelation, PubsubEngine, PubsubEvent, StoredItem } from './api.ts';
import { NS_PUBLISH_OPTIONS, NS_PUBSUB } from './api.ts';
import { createPubsubEngine } from './engine.ts';
import { StorePubsubStorage } from './store-adapter.ts';

const OWNER = parseJid('owner@example.org');
const FRIEND = parseJid('friend@example.org/phone');
const STRANGER = parseJid('stranger@example.net');

async function setup(relations: Record<string, OwnerRelation> = {}, maxResultBytes?: number): Promise<{ engine: PubsubEngine; events: PubsubEvent[] }> {
  const db = new EncryptedBackend({ backend: new MemoryBackend(), masterKey: randomBytes(32) });
  await db.open();
  const events: PubsubEvent[] = [];
  const engine = createPubsubEngine({
    storage: new StorePubsubStorage(db.map<NodeRecord>('h', 'nodes'), db.map<StoredItem>('h', 'items')),
    relation: async (_owner, requester) => relations[requester] ?? { subscription: 'none', groups: [] },
    limits: { maxNodes: 10, maxItemsPerNode: 5, maxPayloadBytes: 200, maxSubscriptionsPerNode: 2, maxResultBytes },
    defaults: { accessModel: 'presence', maxItems: 1 },
    autoCreate: true,
    mayCreate: (_service, requester) => requester.bare().equals(OWNER),
    serviceOwners: () => [OWNER.toString()],
    notify: (ev) => void events.push(ev),
  });
  return { engine, events };
}

const note = (t: string) => el('note', { xmlns: 'urn:example' }, t);

async function rejects(p: Promise<unknown>, condition: string, app?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StanzaError, String(e));
    assert.equal(e.condition, condition);
    assert.equal(e.appCondition?.name, app);
    return true;
  });
}

describe('PubSub engine', () => {
  it('auto-creates with the options as config; options on an existing node are preconditions', async () => {
    const { engine, events } = await setup();
    await engine.publish('s', OWNER, 'n', { id: 'a', payload: note('1') }, { accessModel: 'open', maxItems: 'max' });
    assert.equal((await engine.nodeConfig('s', 'n'))?.accessModel, 'open');
    await engine.publish('s', OWNER, 'n', { id: 'b', payload: note('2') }, { maxItems: 'max' });
    await rejects(engine.publish('s', OWNER, 'n', { id: 'c', payload: note('3') }, { accessModel: 'presence' }), 'conflict', 'precondition-not-met');
    assert.deepEqual(events.map((e) => e.kind), ['published', 'published']);
    await rejects(engine.publish('s', STRANGER, 'n', { payload: note('x') }), 'forbidden');
    await rejects(engine.publish('s', STRANGER, 'other', { payload: note('x') }), 'forbidden');
    await rejects(engine.publish('s', OWNER, 'n', { payload: note('x'.repeat(300)) }), 'not-acceptable', 'payload-too-big');
  });

  it('keeps max_items (newest first) and pages with RSM after/before', async () => {
    const { engine } = await setup();
    for (const id of ['1', '2', '3', '4', '5', '6', '7']) await engine.publish('s', OWNER, 'n', { id, payload: note(id) }, { maxItems: 'max' });
    const all = await engine.items('s', OWNER, 'n');
    assert.deepEqual(all.items.map((i) => i.id), ['7', '6', '5', '4', '3']);
    const page = await engine.items('s', OWNER, 'n', { rsm: { max: 2, after: '6' } });
    assert.deepEqual([page.items.map((i) => i.id), page.count, page.firstIndex], [['5', '4'], 5, 2]);
    const lastPage = await engine.items('s', OWNER, 'n', { rsm: { max: 2, before: '' } });
    assert.deepEqual(lastPage.items.map((i) => i.id), ['4', '3']);
    // Republishing an id moves it to newest.
    await engine.publish('s', OWNER, 'n', { id: '4', payload: note('4 again') });
    assert.deepEqual((await engine.items('s', OWNER, 'n', { max: 2 })).items.map((i) => i.id), ['4', '7']);
  });

  it('cuts an items result at maxResultBytes, saying so for RSM paging', async () => {
    const { engine } = await setup({}, 100);
    for (const id of ['1', '2', '3']) await engine.publish('s', OWNER, 'n', { id, payload: note('x'.repeat(30)) }, { maxItems: 'max' });
    const page = await engine.items('s', OWNER, 'n');
    assert.deepEqual([page.items.map((i) => i.id), page.count, page.truncated], [['3'], 3, true]);
    const iq = await engine.handleIq({ service: 's', from: OWNER, type: 'get', payload: el('pubsub', { xmlns: NS_PUBSUB }, el('items', { node: 'n' })) });
    assert.equal(iq?.getChild('set', 'http://jabber.org/protocol/rsm')?.getChildText('count'), '3');
    const next = await engine.items('s', OWNER, 'n', { rsm: { after: '3' } });
    assert.deepEqual(next.items.map((i) => i.id), ['2']);
  });

  it('answers each access model with its error condition', async () => {
    const { engine } = await setup({ 'friend@example.org': { subscription: 'both', groups: ['Family'] } });
    await engine.publish('s', OWNER, 'p', { payload: note('p') });
    assert.equal((await engine.items('s', FRIEND, 'p')).items.length, 1);
    await rejects(engine.items('s', STRANGER, 'p'), 'not-authorized', 'presence-subscription-required');
    await engine.createNode('s', OWNER, 'r', { accessModel: 'roster', rosterGroupsAllowed: ['Work'] });
    await rejects(engine.items('s', FRIEND, 'r'), 'not-authorized', 'not-in-roster-group');
    await engine.configure('s', OWNER, 'r', { rosterGroupsAllowed: ['Family'] });
    assert.equal((await engine.items('s', FRIEND, 'r')).items.length, 0);
    await engine.createNode('s', OWNER, 'w', { accessModel: 'whitelist' });
    await rejects(engine.items('s', FRIEND, 'w'), 'not-allowed', 'closed-node');
    await engine.setAffiliations('s', OWNER, 'w', { 'friend@example.org': 'member', 'stranger@example.net': 'outcast' });
    assert.equal((await engine.items('s', FRIEND, 'w')).items.length, 0);
    await rejects(engine.items('s', STRANGER, 'w'), 'forbidden');
    await rejects(engine.items('s', OWNER, 'none'), 'item-not-found');
    await rejects(engine.createNode('s', OWNER, 'w'), 'conflict');
  });

  it('subscriptions: the last item on subscribe, a bounded count, retract events as asked', async () => {
    const { engine, events } = await setup();
    await engine.publish('s', OWNER, 'o', { id: 'x', payload: note('x') }, { accessModel: 'open', sendLastPublishedItem: 'on_sub' });
    await engine.subscribe('s', STRANGER, 'o', STRANGER);
    const last = events.at(-1);
    assert.ok(last?.kind === 'last' && last.item.id === 'x' && last.to.equals(STRANGER));
    await engine.subscribe('s', FRIEND, 'o', FRIEND);
    await rejects(engine.subscribe('s', OWNER, 'o', OWNER), 'policy-violation', 'too-many-subscriptions');
    await rejects(engine.subscribe('s', FRIEND, 'o', STRANGER), 'bad-request', 'invalid-jid');
    await engine.retract('s', OWNER, 'o', 'x', false);
    assert.equal(events.at(-1)?.kind, 'last', 'notify=false: no event');
    await engine.publish('s', OWNER, 'o', { id: 'y', payload: note('y') });
    await engine.retract('s', OWNER, 'o', 'y');
    const ev = events.at(-1);
    assert.ok(ev?.kind === 'retracted');
    assert.deepEqual(ev.subscribers.sort(), [FRIEND.toString(), STRANGER.toString()].sort());
  });

  it('reads publish IQs with publish-options and round-trips a service through XEP-0227', async () => {
    const { engine } = await setup();
    const iq = el('pubsub', { xmlns: NS_PUBSUB },
      el('publish', { node: 'urn:xmpp:omemo:2:bundles' }, el('item', { id: '31415' }, note('bundle'))),
      el('publish-options', {}, el('x', { xmlns: 'jabber:x:data', type: 'submit' },
        el('field', { var: 'FORM_TYPE', type: 'hidden' }, el('value', {}, NS_PUBLISH_OPTIONS)),
        el('field', { var: 'pubsub#max_items' }, el('value', {}, 'max')),
        el('field', { var: 'pubsub#access_model' }, el('value', {}, 'open')))));
    const result = await engine.handleIq({ service: 's', from: OWNER, type: 'set', payload: iq });
    assert.equal(result?.getChild('publish')?.getChild('item')?.attrs['id'], '31415');
    const exported = await engine.exportService('s');
    const { engine: other } = await setup();
    await other.importService('s', exported);
    const page = await other.items('s', STRANGER, 'urn:xmpp:omemo:2:bundles');
    assert.equal(page.items[0]?.payload.text(), 'bundle');
    assert.deepEqual((await other.exportService('s')).map(String), exported.map(String));
    await engine.deleteService('s');
    assert.deepEqual(await engine.exportService('s'), []);
  });
});
