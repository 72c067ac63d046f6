// The end-to-end encryption policy (src/modules/e2e-policy) with stock clients: slixmpp sends a
// plain chat message and gets <policy-violation/> naming the policy; the stanza Conversations
// sends for OMEMO (payload, EME and fallback body) and body-less chat states pass; group chats,
// MUC private messages and the server itself are exempt; the policy is per host, and a message
// arriving from a host without it is checked on the recipient's side.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectSlix, slixmppUnavailable, type SlixClient, type SlixStanza } from '../harness/slixmpp.ts';
import { xml, type TestClient } from '../harness/client.ts';

const skip = slixmppUnavailable();
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const POLICY_TEXT = 'This service requires end-to-end encryption (OMEMO or OpenPGP) for one-to-one chats';

/** What Conversations (2.x, legacy OMEMO) sends: payload, receipts/markers, EME, its fallback body, a store hint. */
function conversationsOmemo(to: string, id: string): string {
  return `<message xmlns="jabber:client" to="${to}" id="${id}" type="chat"><encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="1849326517"><key rid="1037415239">MwohBaO4g4GCKT7v1z0Vmc4K7ODSZjkSjPpGmJO7eA4ZFdFDEAAYACIwzNlD8Tbh5eM0gJ2eNHqy5PZJZ2nC9EQVPc/GkjSdgy9lqVe0zN97RpYEKnyc1+1bd4WSKGkDJD0=</key><iv>pZF6q4yObHkq1ScN</iv></header><payload>0dkxH7w=</payload></encrypted><request xmlns="urn:xmpp:receipts"/><markable xmlns="urn:xmpp:chat-markers:0"/><origin-id xmlns="urn:xmpp:sid:0" id="${id}"/><encryption xmlns="urn:xmpp:eme:0" name="OMEMO" namespace="eu.siacs.conversations.axolotl"/><body>I sent you an OMEMO encrypted message but your client doesn’t seem to support that. Find more information on https://conversations.im/omemo</body><store xmlns="urn:xmpp:hints"/></message>`;
}

describe('end-to-end encryption policy (e2e-policy)', { skip }, () => {
  let server: TestServer;
  let alice: SlixClient;
  let bob: TestClient;
  let carol: TestClient;
  before(async () => {
    server = await startServer({
      hosts: ['localhost', 'other.test'],
      modules: { 'e2e-policy': {} },
      // other.test: no policy, so its users' messages are checked by localhost when they arrive there.
      config: {
        hosts: { 'other.test': { modules: { 'e2e-policy': false } } },
        // An http listener, for the published pages.
        listeners: [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }, { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' }, { type: 'http', port: 0, address: '127.0.0.1' }],
      },
    });
    const pw = await server.adduser('alice');
    alice = await connectSlix(undefined, { jid: 'alice@localhost', password: pw, port: server.ports.c2s_starttls, resource: 'slix' });
    bob = await server.connectClient(undefined, 'bob');
    carol = await server.connectClient(undefined, 'carol@other.test');
    // Available, so messages to their bare JIDs reach them (RFC 6121 §8.5.2.1).
    await bob.send(xml('presence'));
    await carol.send(xml('presence'));
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await carol.close();
    await server.remove();
  });

  const errorOf = (e: SlixStanza) => /<error[^>]*type="([^"]+)"[^>]*>.*?<([a-z-]+) xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/s.exec(e.xml);

  it('a plain chat message from slixmpp bounces with <policy-violation/> naming the policy; the recipient never sees it', async () => {
    await alice.sendMessage('bob@localhost', 'plain words', 'chat');
    const bounced = await alice.waitForStanza({ name: 'message', type: 'error', from: 'bob@localhost' });
    assert.deepEqual(errorOf(bounced)?.slice(1), ['modify', 'policy-violation']);
    assert.ok(bounced.xml.includes(POLICY_TEXT), bounced.xml);
    // The error carries none of the message.
    assert.equal(bounced.body, null);
    // type normal is a one-to-one message too.
    await alice.sendMessage('bob@localhost', 'plain normal', 'normal');
    await alice.waitForStanza({ name: 'message', type: 'error', from: 'bob@localhost' });
    await bob.expectNone((s) => s.is('message') && s.getChildText('body') !== null, 2000, 'a plain message');
    assert.doesNotMatch(server.logs(), /plain words|plain normal/);
  });

  it("Conversations' OMEMO stanza (payload, EME, fallback body) passes; so do body-less chat states", async () => {
    await alice.sendRaw(conversationsOmemo('bob@localhost', 'omemo-1'));
    const got = await bob.waitFor((s) => s.is('message') && s.attrs['id'] === 'omemo-1');
    assert.ok(got.getChild('encrypted', 'eu.siacs.conversations.axolotl'));
    await alice.sendRaw(`<message xmlns="jabber:client" to="bob@localhost" type="chat" id="cs-1"><composing xmlns="http://jabber.org/protocol/chatstates"/><no-store xmlns="urn:xmpp:hints"/></message>`);
    await bob.waitFor((s) => s.is('message') && s.attrs['id'] === 'cs-1');
    // An EME naming a scheme the policy doesn't accept (OTR), with only a body: refused.
    await alice.sendRaw(`<message xmlns="jabber:client" to="bob@localhost" type="chat" id="otr-1"><body>?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA</body><encryption xmlns="urn:xmpp:eme:0" namespace="urn:xmpp:otr:0"/></message>`);
    const otr = await alice.waitFor((e) => e.event === 'stanza' && e.id === 'otr-1') as SlixStanza;
    assert.equal(otr.type, 'error');
  });

  it('exempt: group chat, MUC private messages, messages to the server', async () => {
    const room = 'plainroom@conference.localhost';
    const joined = await alice.mucJoin(room, 'Alice');
    assert.equal(joined.error, undefined, joined.xml);
    await alice.mucConfigure(room, {});
    await bob.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    await bob.waitFor((s) => s.is('presence') && s.attrs['from'] === `${room}/Bob`);
    await alice.mucMessage(room, 'plain in the room');
    await bob.waitFor((s) => s.is('message') && s.attrs['type'] === 'groupchat' && s.getChildText('body') === 'plain in the room');
    await alice.sendMessage(`${room}/Bob`, 'plain private in the room', 'chat');
    await bob.waitFor((s) => s.is('message') && s.attrs['from'] === `${room}/Alice` && s.getChildText('body') === 'plain private in the room');
    // To the server itself: not the policy's business (nothing there takes messages).
    await bob.send(xml('message', { to: 'localhost', type: 'chat', id: 'to-host' }, xml('body', {}, 'hello server')));
    const reply = await bob.waitFor((s) => s.is('message') && s.attrs['id'] === 'to-host');
    assert.ok(reply.getChild('error')?.getChild('service-unavailable', NS_STANZAS));
  });

  it('per host: arriving from a host without the policy it is checked for the recipient; that host itself is free', async () => {
    await carol.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'from-other' }, xml('body', {}, 'plain from elsewhere')));
    const bounced = await carol.waitFor((s) => s.is('message') && s.attrs['id'] === 'from-other');
    assert.equal(bounced.attrs['type'], 'error');
    assert.ok(bounced.getChild('error')?.getChild('policy-violation', NS_STANZAS));
    assert.match(bounced.getChild('error')?.getChildText('text', NS_STANZAS) ?? '', /recipient's service requires end-to-end encryption/);
    // localhost's users can't send plain to other.test either (checked as it leaves).
    await alice.sendMessage('carol@other.test', 'plain outwards', 'chat');
    await alice.waitForStanza({ name: 'message', type: 'error', from: 'carol@other.test' });
    // other.test to other.test: no policy there.
    const dave = await server.connectClient(undefined, 'dave@other.test');
    try {
      await dave.send(xml('presence'));
      await carol.send(xml('message', { to: 'dave@other.test', type: 'chat' }, xml('body', {}, 'plain at home')));
      await dave.waitFor((s) => s.is('message') && s.getChildText('body') === 'plain at home');
    } finally {
      await dave.close();
    }
  });

  it('the published terms and privacy policy state the rule for the host that has it', async () => {
    const port = (server.ports as unknown as Record<string, number>)['http'];
    const text = async (path: string) => (await (await fetch(`http://127.0.0.1:${String(port)}${path}`)).text()).replace(/\n(?: {2})?(?=\S)/g, ' ');
    assert.match(await text('/terms.txt'), /Encrypt one-to-one chats end to end, with OMEMO or OpenPGP on localhost: the server refuses a message sent there without it/);
    assert.match(await text('/privacy.txt'), /One-to-one chats on localhost must be end-to-end encrypted \(OMEMO or OpenPGP\)/);
  });
});
