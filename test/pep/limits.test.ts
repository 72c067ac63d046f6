// PEP limits (module options): nodes per account, items per node, item size, subscriptions per
// node. Each is hit with the XEP-0060 error it answers while other accounts keep chatting.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml, type TestClient } from '../harness/client.ts';
import { NS_OWNER, NS_PUBSUB, form, itemsQuery, publish, refused } from './helpers.ts';

const D = 'localhost';
const note = (text: string) => xml('note', { xmlns: 'urn:example:notes' }, text);
const configure = (node: string, fields: Record<string, string>) =>
  xml('pubsub', { xmlns: NS_OWNER }, xml('configure', { node }, form('http://jabber.org/protocol/pubsub#node_config', 'submit', fields)));

describe('PEP limits', () => {
  let server: TestServer;
  let olivia: TestClient;
  let bob: TestClient;
  let carol: TestClient;
  let seq = 0;

  /** Another pair of users keeps talking: the limit hit affects nobody else. */
  async function stillChatting(): Promise<void> {
    const body = `still here ${++seq}`;
    await bob.send(xml('message', { to: `carol@${D}`, type: 'chat' }, xml('body', {}, body)));
    await carol.waitFor(match.message(`bob@${D}`, body));
  }

  before(async () => {
    server = await startServer({
      modules: { pep: { max_nodes: 3, max_items: 5, max_payload_size: 2048, max_subscriptions: 2 } },
      users: [[`olivia@${D}`, 'pw-o'], [`bob@${D}`, 'pw-b'], [`carol@${D}`, 'pw-c'], [`s1@${D}`, 'pw'], [`s2@${D}`, 'pw'], [`s3@${D}`, 'pw']],
    });
    olivia = await server.connectClient(undefined, `olivia@${D}`);
    bob = await server.connectClient(undefined, `bob@${D}`);
    carol = await server.connectClient(undefined, `carol@${D}`);
    await carol.send(xml('presence'));
  });
  after(async () => {
    for (const c of [olivia, bob, carol]) await c?.close();
    await server.remove();
  });

  it('max_nodes: the next node gets <policy-violation/> + <max-nodes-exceeded/>', async () => {
    for (const n of [1, 2, 3]) await olivia.iqSet(publish(`urn:test:n${n}`, 'i', note('x')));
    assert.deepEqual(await refused(olivia.iqSet(publish('urn:test:n4', 'i', note('x')))), ['policy-violation', 'max-nodes-exceeded']);
    await stillChatting();
    // Existing nodes still take items.
    await olivia.iqSet(publish('urn:test:n1', 'j', note('y')));
  });

  it("max_items: 'max' keeps that many (oldest go); more is refused as configuration or precondition", async () => {
    await olivia.iqSet(configure('urn:test:n2', { 'pubsub#max_items': 'max' }));
    for (let i = 0; i < 7; i++) await olivia.iqSet(publish('urn:test:n2', `i${i}`, note(String(i)), { 'pubsub#max_items': 'max' }));
    const items = (await olivia.iqGet(itemsQuery('urn:test:n2'))).getChild('items')?.getChildren('item') ?? [];
    assert.deepEqual(items.map((i) => i.attrs['id']), ['i6', 'i5', 'i4', 'i3', 'i2']);
    assert.deepEqual(await refused(olivia.iqSet(configure('urn:test:n2', { 'pubsub#max_items': '6' }))), ['not-acceptable', undefined]);
    assert.deepEqual(await refused(olivia.iqSet(publish('urn:test:n3', 'i', note('x'), { 'pubsub#max_items': '6' }))), ['conflict', 'precondition-not-met']);
    await stillChatting();
  });

  it('max_payload_size: a larger item gets <not-acceptable/> + <payload-too-big/>', async () => {
    assert.deepEqual(await refused(olivia.iqSet(publish('urn:test:n1', 'big', note('x'.repeat(3000))))), ['not-acceptable', 'payload-too-big']);
    await stillChatting();
    await olivia.iqSet(publish('urn:test:n1', 'small', note('x'.repeat(1500))));
  });

  it('max_subscriptions: the next subscriber gets <policy-violation/> + <too-many-subscriptions/>', async () => {
    await olivia.iqSet(configure('urn:test:n3', { 'pubsub#access_model': 'open' }));
    const subscribe = (jid: string) => xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node: 'urn:test:n3', jid }));
    for (const s of ['s1', 's2']) {
      const c = await server.connectClient(undefined, `${s}@${D}`);
      await c.iqSet(subscribe(`${s}@${D}`), `olivia@${D}`);
      await c.close();
    }
    const s3 = await server.connectClient(undefined, `s3@${D}`);
    assert.deepEqual(await refused(s3.iqSet(subscribe(`s3@${D}`), `olivia@${D}`)), ['policy-violation', 'too-many-subscriptions']);
    await s3.close();
    await stillChatting();
  });
});
