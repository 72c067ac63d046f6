// XEP-0045 through raw stanzas from stock @xmpp/client: entering, creating, history and subject,
// nickname changes, private messages, presence updates, leaving, self-ping and occupant-id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import {
  codes, configure, createInstant, errorCondition, groupchat, item, join, joinError, NS_MUC, NS_OCCUPANT_ID, NS_USER, presenceFrom, rejectsWith, roomJid, say, SERVICE,
} from './muc-helpers.ts';

describe('MUC rooms (XEP-0045, 0410, 0421)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, ping: {}, roster: {}, muc: {} } });
  });
  after(() => server.remove());

  it('creates an instant room: locked (201) until the owner submits, then others enter', async (t) => {
    const alice = await server.connectClient(t, 'alice');
    const bob = await server.connectClient(t, 'bob');
    const self = await join(alice, 'lobby', 'Alice');
    assert.deepEqual(codes(self), [110, 201]);
    assert.deepEqual({ a: item(self)['affiliation'], r: item(self)['role'] }, { a: 'owner', r: 'moderator' });
    assert.ok(self.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs['id']);
    // §10.1.1: nobody enters a locked room.
    assert.equal(await joinError(bob, 'lobby', 'Bob'), 'item-not-found');
    await alice.iqSet(xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' })), roomJid('lobby'));
    const bobSelf = await join(bob, 'lobby', 'Bob');
    assert.deepEqual(codes(bobSelf), [110]);
    assert.equal(item(bobSelf)['role'], 'participant');
    assert.equal(item(bobSelf)['affiliation'], 'none');
    // Bob got Alice's presence first (semi-anonymous: no jid for a participant), then the empty subject.
    const alicePresence = bob.received.find((e) => e.is('presence') && e.attrs['from'] === `${roomJid('lobby')}/Alice`);
    assert.ok(alicePresence && item(alicePresence)['jid'] === undefined, String(alicePresence));
    const subject = await bob.waitFor((e) => e.is('message') && e.getChild('subject') !== undefined);
    assert.equal(subject.getChildText('subject'), '');
    assert.ok(bob.received.indexOf(subject) > bob.received.indexOf(bobSelf));
    // Alice, a moderator, sees Bob's real JID.
    const bobToAlice = await alice.waitFor(presenceFrom(`${roomJid('lobby')}/Bob`));
    assert.equal(item(bobToAlice)['jid'], bob.jid.toString());
  });

  it('relays groupchat messages with occupant-id, replays history with <delay/>, then the subject', async (t) => {
    const carol = await server.connectClient(t, 'carol');
    const dave = await server.connectClient(t, 'dave');
    await createInstant(carol, 'history', 'Carol');
    await carol.send(xml('message', { to: roomJid('history'), type: 'groupchat' }, xml('subject', {}, 'Topic of the day')));
    await carol.waitFor((e) => e.is('message') && e.getChildText('subject') === 'Topic of the day');
    for (const n of [1, 2, 3]) await say(carol, 'history', `message ${n}`);
    const echoed = await carol.waitFor(groupchat('history', 'Carol', 'message 3'));
    const carolId = echoed.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs['id'];
    assert.ok(carolId);
    await join(dave, 'history', 'Dave', [xml('history', { maxstanzas: '2' })]);
    const h2 = await dave.waitFor(groupchat('history', 'Carol', 'message 2'));
    const h3 = await dave.waitFor(groupchat('history', 'Carol', 'message 3'));
    assert.equal(h2.getChild('delay', 'urn:xmpp:delay')?.attrs['from'], roomJid('history'));
    assert.ok(h3.getChild('delay', 'urn:xmpp:delay')?.attrs['stamp']);
    const subject = await dave.waitFor((e) => e.is('message') && e.getChild('subject') !== undefined);
    assert.equal(subject.getChildText('subject'), 'Topic of the day');
    assert.ok(dave.received.indexOf(subject) > dave.received.indexOf(h3));
    assert.ok(!dave.received.some((e) => e.getChildText('body') === 'message 1'), 'maxstanzas=2');
    // A participant may not change the subject by default (§8.1).
    await dave.send(xml('message', { to: roomJid('history'), type: 'groupchat', id: 'subj' }, xml('subject', {}, 'mine')));
    const refused = await dave.waitFor((e) => e.attrs['id'] === 'subj' && e.attrs['type'] === 'error');
    assert.equal(errorCondition(refused), 'forbidden');
    // Messages from a non-occupant: not-acceptable.
    const eve = await server.connectClient(t, 'eve');
    await eve.send(xml('message', { to: roomJid('history'), type: 'groupchat', id: 'outsider' }, xml('body', {}, 'hi')));
    assert.equal(errorCondition(await eve.waitFor((e) => e.attrs['id'] === 'outsider')), 'not-acceptable');
  });

  it('changes nicknames (303 then the new presence), keeps occupant-id, and refuses a taken nick', async (t) => {
    const frank = await server.connectClient(t, 'frank');
    const gina = await server.connectClient(t, 'gina');
    await createInstant(frank, 'nicks', 'Frank');
    const first = await join(gina, 'nicks', 'Gina');
    const id = first.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs['id'];
    assert.equal(await joinError(gina, 'nicks', 'Frank'), 'conflict');
    await gina.send(xml('presence', { to: `${roomJid('nicks')}/Gigi` }));
    const gone = await frank.waitFor(presenceFrom(`${roomJid('nicks')}/Gina`, 'unavailable'));
    assert.deepEqual(codes(gone), [303]);
    assert.equal(item(gone)['nick'], 'Gigi');
    const back = await frank.waitFor(presenceFrom(`${roomJid('nicks')}/Gigi`));
    assert.equal(back.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs['id'], id);
    const selfGone = await gina.waitFor(presenceFrom(`${roomJid('nicks')}/Gina`, 'unavailable'));
    assert.deepEqual(codes(selfGone), [110, 303]);
    // Leaving and rejoining: the same occupant-id (XEP-0421: stable per room and real JID).
    await gina.send(xml('presence', { to: `${roomJid('nicks')}/Gigi`, type: 'unavailable' }));
    const left = await gina.waitFor(presenceFrom(`${roomJid('nicks')}/Gigi`, 'unavailable'));
    assert.deepEqual(codes(left), [110]);
    const again = await join(gina, 'nicks', 'G');
    assert.equal(again.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs['id'], id);
  });

  it('private messages go to the nick through the room; presence updates are broadcast', async (t) => {
    const hank = await server.connectClient(t, 'hank');
    const ivy = await server.connectClient(t, 'ivy');
    await createInstant(hank, 'pm', 'Hank');
    await join(ivy, 'pm', 'Ivy');
    await ivy.send(xml('message', { to: `${roomJid('pm')}/Hank`, type: 'chat' }, xml('body', {}, 'psst')));
    const pm = await hank.waitFor((e) => e.is('message') && e.getChildText('body') === 'psst');
    assert.equal(pm.attrs['from'], `${roomJid('pm')}/Ivy`);
    assert.ok(pm.getChild('x', NS_USER));
    assert.ok(pm.getChild('no-store', 'urn:xmpp:hints'), 'a room PM is never stored offline');
    await ivy.send(xml('message', { to: `${roomJid('pm')}/Nobody`, type: 'chat', id: 'nobody' }, xml('body', {}, 'x')));
    assert.equal(errorCondition(await ivy.waitFor((e) => e.attrs['id'] === 'nobody')), 'item-not-found');
    await ivy.send(xml('presence', { to: `${roomJid('pm')}/Ivy` }, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
    const update = await hank.waitFor((e) => e.is('presence') && e.attrs['from'] === `${roomJid('pm')}/Ivy` && e.getChildText('show') === 'away');
    assert.equal(update.getChildText('status'), 'lunch');
  });

  it('non-anonymous rooms: 172 on the change, 100 on entering, real JIDs shown to everyone', async (t) => {
    const pia = await server.connectClient(t, 'pia');
    const quinn = await server.connectClient(t, 'quinn');
    const rob = await server.connectClient(t, 'rob');
    await createInstant(pia, 'open-book', 'Pia');
    await join(quinn, 'open-book', 'Quinn');
    await configure(pia, 'open-book', { 'muc#roomconfig_whois': 'anyone' });
    const note = await quinn.waitFor((e) => e.is('message') && codes(e).includes(104));
    assert.deepEqual(codes(note), [104, 172]);
    const self = await join(rob, 'open-book', 'Rob');
    assert.deepEqual(codes(self), [100, 110]);
    const quinnSeen = rob.received.find((e) => e.is('presence') && e.attrs['from'] === `${roomJid('open-book')}/Quinn`);
    assert.equal(quinnSeen && item(quinnSeen)['jid'], quinn.jid.toString());
    const robSeen = await quinn.waitFor(presenceFrom(`${roomJid('open-book')}/Rob`));
    assert.deepEqual(codes(robSeen), []);
    const info = await rob.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), roomJid('open-book'));
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === 'muc_nonanonymous'));
  });

  it('answers XEP-0410 self-pings (result when joined, not-acceptable when not) and relays IQs between occupants', async (t) => {
    const jack = await server.connectClient(t, 'jack');
    await createInstant(jack, 'pinged', 'Jack');
    await jack.iqGet(xml('ping', 'urn:xmpp:ping'), `${roomJid('pinged')}/Jack`);
    // A ping to another occupant is relayed to its client, and the answer comes back from the occupant JID.
    const lou = await server.connectClient(t, 'lou');
    await join(lou, 'pinged', 'Lou');
    await lou.send(xml('iq', { type: 'get', id: 'relay-1', to: `${roomJid('pinged')}/Jack` }, xml('ping', 'urn:xmpp:ping')));
    const relayed = await jack.waitFor((e) => e.is('iq') && e.attrs['from'] === `${roomJid('pinged')}/Lou`);
    assert.notEqual(relayed.attrs['id'], 'relay-1');
    const back = await lou.waitFor((e) => e.is('iq') && e.attrs['id'] === 'relay-1');
    assert.equal(back.attrs['from'], `${roomJid('pinged')}/Jack`);
    assert.ok(back.attrs['type'] === 'result' || back.attrs['type'] === 'error', back.toString());
    const kim = await server.connectClient(t, 'kim');
    await rejectsWith(kim.iqGet(xml('ping', 'urn:xmpp:ping'), `${roomJid('pinged')}/Jack`), 'not-acceptable');
  });

  it('disco: the service, its public rooms, and a room with its features and muc#roominfo', async (t) => {
    const lena = await server.connectClient(t, 'lena');
    const items = await lena.iqGet(xml('query', 'http://jabber.org/protocol/disco#items'), 'localhost');
    assert.ok(items.getChildren('item').some((i) => i.attrs['jid'] === SERVICE));
    const info = await lena.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), SERVICE);
    assert.equal(info.getChild('identity')?.attrs['category'], 'conference');
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === NS_MUC));
    await createInstant(lena, 'listed', 'Lena');
    const rooms = await lena.iqGet(xml('query', 'http://jabber.org/protocol/disco#items'), SERVICE);
    assert.ok(rooms.getChildren('item').some((i) => i.attrs['jid'] === roomJid('listed')));
    const room = await lena.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), roomJid('listed'));
    const features = room.getChildren('feature').map((f) => f.attrs['var']);
    for (const f of ['muc_public', 'muc_open', 'muc_unmoderated', 'muc_unsecured', 'muc_temporary', 'muc_semianonymous', NS_OCCUPANT_ID]) assert.ok(features.includes(f), f);
    const form = room.getChild('x', 'jabber:x:data');
    const occupants = form?.getChildren('field').find((f) => f.attrs['var'] === 'muc#roominfo_occupants');
    assert.equal(occupants?.getChildText('value'), '1');
  });

  it('a temporary room goes when its last occupant leaves; a session that ends leaves', async (t) => {
    const mo = await server.connectClient(t, 'mo');
    const ned = await server.connectClient(t, 'ned');
    await createInstant(mo, 'brief', 'Mo');
    await join(ned, 'brief', 'Ned');
    await ned.close();
    const left = await mo.waitFor(presenceFrom(`${roomJid('brief')}/Ned`, 'unavailable'));
    assert.equal(item(left)['role'], 'none');
    await mo.send(xml('presence', { to: `${roomJid('brief')}/Mo`, type: 'unavailable' }));
    await mo.waitFor(presenceFrom(`${roomJid('brief')}/Mo`, 'unavailable'));
    await rejectsWith(mo.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), roomJid('brief')), 'item-not-found');
  });
});
