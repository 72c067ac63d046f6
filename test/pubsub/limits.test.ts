// The pubsub.<host> service's bounds (module options), each hit while two other users keep
// chatting: the refusal is a stanza error to the requester only. Also who may create nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml, type Element, type TestClient } from '../harness/client.ts';
import { NS_PUBSUB, SERVICE } from './helpers.ts';

const NS_ERRORS = 'http://jabber.org/protocol/pubsub#errors';

/** The condition and pubsub#errors condition of a refused request. */
async function refusal(p: Promise<unknown>): Promise<[string | undefined, string | undefined]> {
  try {
    await p;
  } catch (e) {
    // @xmpp/client's StanzaError: the application-specific condition is `application`.
    const err = e as { condition?: string; application?: Element };
    return [err.condition, err.application?.attrs['xmlns'] === NS_ERRORS ? err.application.name : undefined];
  }
  return [undefined, undefined];
}

const create = (c: TestClient, node: string) => c.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('create', { node })), SERVICE);
const publish = (c: TestClient, node: string, id: string, text: string) =>
  c.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', { id }, xml('entry', { xmlns: 'urn:example:news' }, text)))), SERVICE);
const subscribe = (c: TestClient, node: string) => c.iqSet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node, jid: c.jid.bare().toString() })), SERVICE);

describe('pubsub.<host> limits', () => {
  let server: TestServer;
  let alice: TestClient;
  let bob: TestClient;
  before(async () => {
    server = await startServer({
      // create_nodes 'admins': only the two owners below may create nodes.
      config: { security: { admins: ['owner1@localhost', 'owner2@localhost'] } },
      modules: { disco: {}, roster: {}, pubsub: { create_nodes: 'admins', max_nodes: 3, max_nodes_per_owner: 2, max_items: 2, max_item_size: '1KiB', max_subscriptions: 2 } },
    });
    alice = await server.connectClient(undefined, 'alice');
    bob = await server.connectClient(undefined, 'bob');
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await server.remove();
  });

  /** A message from alice to bob, sent while `refused` runs: it arrives all the same. */
  async function whileChatting<T>(body: string, refused: () => Promise<T>): Promise<T> {
    const [result] = await Promise.all([refused(), alice.send(xml('message', { to: bob.jid.toString(), type: 'chat' }, xml('body', {}, body)))]);
    await bob.waitFor(match.message('alice@localhost', body), 10_000);
    return result;
  }

  it('create_nodes admins: an account that is not a server admin may not create nodes', async () => {
    assert.deepEqual(await refusal(create(alice, 'mine')), ['forbidden', undefined]);
  });

  it('max_nodes_per_owner: a third node of one owner is refused', async (t) => {
    const owner = await server.connectClient(t, 'owner1');
    await create(owner, 'a1');
    await create(owner, 'a2');
    assert.deepEqual(await whileChatting('per owner', () => refusal(create(owner, 'a3'))), ['policy-violation', 'max-nodes-exceeded']);
  });

  it('max_nodes: the service holds no more nodes than that, whoever asks', async (t) => {
    const other = await server.connectClient(t, 'owner2');
    await create(other, 'b1');
    assert.deepEqual(await whileChatting('per service', () => refusal(create(other, 'b2'))), ['policy-violation', 'max-nodes-exceeded']);
  });

  it('max_item_size: a larger payload is refused with payload-too-big; max_items: the oldest item goes', async (t) => {
    const owner = await server.connectClient(t, 'owner1');
    const big = 'x'.repeat(1500);
    assert.deepEqual(await whileChatting('too big', () => refusal(publish(owner, 'a1', 'big', big))), ['not-acceptable', 'payload-too-big']);
    for (const id of ['i1', 'i2', 'i3']) await publish(owner, 'a1', id, id);
    const items = await owner.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: 'a1' })), SERVICE);
    assert.deepEqual(items.getChild('items')?.getChildren('item').map((i: Element) => i.attrs['id']).sort(), ['i2', 'i3']);
  });

  it('max_subscriptions: a node takes that many subscribers', async (t) => {
    const third = await server.connectClient(t, 'owner2');
    await subscribe(alice, 'a2');
    await subscribe(bob, 'a2');
    assert.deepEqual(await whileChatting('subscriptions', () => refusal(subscribe(third, 'a2'))), ['policy-violation', 'too-many-subscriptions']);
  });
});
