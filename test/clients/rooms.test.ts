// Group chat (XEP-0045) with stock clients: profanity joins a room and talks with an @xmpp/client
// occupant; go-sendxmpp sends into a room (-c) and the occupant receives it. The @xmpp/client
// occupant creates each room first and unlocks it as an instant room (XEP-0045 §10.1.2).
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import { Profanity, profanityUnavailable } from '../harness/profanity.ts';
import { goSendxmppUnavailable, sendRoomMessage } from '../harness/go-sendxmpp.ts';
import { defaultModuleNames } from '../../src/modules/registry.ts';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const SERVICE = 'conference.localhost';
const ALICE_PW = 'pw-alice-rooms-1';

const mucMissing = existsSync(join(REPO_ROOT, 'src', 'modules', 'muc', 'index.ts')) ? undefined : 'needs module muc';

function statusCodes(presence: Element): string[] {
  return (presence.getChild('x', NS_MUC_USER)?.getChildren('status') ?? []).map((s) => String(s.attrs['code']));
}

/** The occupant joins (creating the room) and, as its owner, accepts the default configuration. */
async function createInstantRoom(occupant: TestClient, room: string, nick: string): Promise<void> {
  await occupant.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS_MUC })));
  const self = await occupant.waitFor(
    (el) => el.is('presence') && el.attrs['from'] === `${room}/${nick}` && statusCodes(el).includes('110'),
    10_000,
    'the self-presence of the room creator',
  );
  assert.ok(statusCodes(self).includes('201'), `a new room: status 201 (got ${self.toString()})`);
  await occupant.iqSet(xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' })), room);
}

function groupchat(from: string, body: string): (el: Element) => boolean {
  return (el) => el.is('message') && el.attrs['type'] === 'groupchat' && el.attrs['from'] === from && el.getChildText('body') === body;
}

describe('group chat with stock clients', { skip: mucMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({
      users: [['alice@localhost', ALICE_PW]],
      modules: [...new Set([...defaultModuleNames, 'muc'])],
    });
  });
  after(async () => {
    await server?.remove();
  });

  it('profanity joins a room and chats with an @xmpp/client occupant', { timeout: 30_000, skip: profanityUnavailable() }, async (t: TestContext) => {
    const room = `profanity-room@${SERVICE}`;
    const bob = await server.connectClient(t, 'bob');
    await createInstantRoom(bob, room, 'bob');

    const profanity = await Profanity.start(t, { jid: 'alice@localhost', password: ALICE_PW, port: server.ports.c2s_starttls });
    await profanity.connect();
    await profanity.joinRoom(room, 'alice');
    await bob.waitFor((el) => el.is('presence') && el.attrs['from'] === `${room}/alice` && el.attrs['type'] === undefined, 10_000, 'alice joining');

    const out = 'hello room from profanity';
    await profanity.sendRoomMessage(room, out);
    await bob.waitFor(groupchat(`${room}/alice`, out), 10_000, 'the room message from profanity');

    const back = 'hello profanity from bob';
    await bob.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, back)));
    await profanity.waitForRoomMessage(room, 'bob', back);
    await profanity.quit();
  });

  it('go-sendxmpp sends to a room (-c) and the occupant receives it', { timeout: 30_000, skip: goSendxmppUnavailable() }, async (t: TestContext) => {
    const room = `go-sendxmpp-room@${SERVICE}`;
    const bob = await server.connectClient(t, 'bob');
    await createInstantRoom(bob, room, 'bob');

    const text = 'hello room from go-sendxmpp';
    await sendRoomMessage({ jid: 'alice@localhost', password: ALICE_PW, port: server.ports.c2s_starttls }, room, text, 'gs');
    await bob.waitFor(groupchat(`${room}/gs`, text), 10_000, 'the room message from go-sendxmpp');
  });
});
